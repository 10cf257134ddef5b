import functools

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone
from knox.auth import TokenAuthentication


@functools.cache
def _permissions_sql() -> str:
    """The user's own and group permissions as (app label, codename): what ModelBackend
    reads in two ORM queries, in one plain query (it runs on every API request)."""
    User = get_user_model()
    user_groups = User.groups.through._meta.db_table
    group_perms = Group.permissions.through._meta.db_table
    user_perms = User.user_permissions.through._meta.db_table
    return f"""
        SELECT DISTINCT ct.app_label, p.codename
        FROM {Permission._meta.db_table} p
        JOIN {ContentType._meta.db_table} ct ON ct.id = p.content_type_id
        WHERE p.id IN (
                SELECT gp.permission_id FROM {group_perms} gp
                JOIN {user_groups} ug ON ug.group_id = gp.group_id WHERE ug.user_id = %s)
           OR p.id IN (SELECT permission_id FROM {user_perms} WHERE user_id = %s)
    """  # noqa: S608 (table names from the models; values are parameters)


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
            with connection.cursor() as cursor:
                cursor.execute(_permissions_sql(), [user.pk, user.pk])
                user._perm_cache = {f"{app_label}.{codename}" for app_label, codename in cursor}
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
