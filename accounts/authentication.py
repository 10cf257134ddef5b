from django.contrib.auth.models import Permission
from django.db.models import Q
from django.utils import timezone
from knox.auth import TokenAuthentication


class ScopedTokenAuthentication(TokenAuthentication):
    """Knox token authentication, lean enough for the real-time predict endpoint.

    The token itself becomes request.auth, so permissions can read its read_only scope.
    Per request it costs two queries: the token with its user, and the user's permissions.
    """

    def authenticate_credentials(self, token: bytes):
        user, auth_token = super().authenticate_credentials(token)
        now = timezone.now()
        # One write a minute at most: this runs on every API request.
        if auth_token.last_used_at is None or (now - auth_token.last_used_at).total_seconds() > 60:
            type(auth_token).objects.filter(pk=auth_token.pk).update(last_used_at=now)
        if not user.is_superuser:
            # Django's ModelBackend would ask twice (user and group permissions); one query
            # fills the same per-request cache it reads.
            user._perm_cache = {
                f"{app_label}.{codename}"
                for app_label, codename in Permission.objects.filter(
                    Q(group__user=user) | Q(user=user)
                )
                .order_by()
                .values_list("content_type__app_label", "codename")
                .distinct()
            }
        return user, auth_token

    def _cleanup_token(self, auth_token) -> bool:
        """Refuse (and delete) this token if it has expired.

        knox also sweeps all of the user's other tokens here, one more query on every
        request; expired tokens are swept when a user creates a token instead.
        """
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False
