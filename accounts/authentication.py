from django.utils import timezone
from knox.auth import TokenAuthentication


class ScopedTokenAuthentication(TokenAuthentication):
    """Knox token authentication that records when a token was last used.

    The token itself is request.auth, so permissions can read its read_only scope.
    """

    def authenticate_credentials(self, token: bytes):
        user, auth_token = super().authenticate_credentials(token)
        now = timezone.now()
        # One write a minute at most: this runs on every API request.
        if auth_token.last_used_at is None or (now - auth_token.last_used_at).total_seconds() > 60:
            type(auth_token).objects.filter(pk=auth_token.pk).update(last_used_at=now)
        return user, auth_token
