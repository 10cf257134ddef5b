"""Django's ModelBackend with the user's permissions read in one query, and the role the
user holds in the request's workspace."""

import functools

from django.contrib.auth import backends, get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from .roles import ROLE_PERMISSIONS


@functools.cache
def _permissions_sql() -> str:
    """The user's own and group permissions as (app label, codename): what ModelBackend
    reads in two ORM queries, in one plain query."""
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


class ModelBackend(backends.ModelBackend):
    """ModelBackend whose get_all_permissions costs one query, once per user object, and
    adds the permissions of the user's role in the request's workspace.

    Every API request (the real-time predict path included) checks a permission; Django's
    ModelBackend asks twice, for the user's and for the groups' permissions. Superusers keep
    Django's answer (every permission). The role comes from `user.workspace_membership`,
    which accounts.workspace_access sets on the request's user once it knows the workspace
    (from the URL or the API token); without it the user holds no role.
    """

    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        # Cached on the user object like ModelBackend's own cache: for one request.
        permissions = getattr(user_obj, "_accounts_permissions", None)
        if permissions is None:
            with connection.cursor() as cursor:
                cursor.execute(_permissions_sql(), [user_obj.pk, user_obj.pk])
                permissions = {f"{app_label}.{codename}" for app_label, codename in cursor}
            user_obj._accounts_permissions = permissions
        membership = getattr(user_obj, "workspace_membership", None)
        if membership is None:
            return permissions
        return permissions | set(ROLE_PERMISSIONS.get(membership.role, ()))
