from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group, User

from .models import ApiToken
from .roles import ROLE_PERMISSIONS

# Only a superuser may touch these: each one is a way past the role matrix.
_SUPERUSER_ONLY_FIELDS = ("is_superuser", "user_permissions")
# A user may not change their own standing: no granting themself a role or taking it away.
_OWN_STANDING_FIELDS = ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "token_key", "read_only", "created", "expiry", "last_used_at")
    list_filter = ("read_only",)
    search_fields = ("name", "user__username", "token_key")
    readonly_fields = ("digest", "token_key", "user", "created", "expiry", "last_used_at")
    fields = ("name", "read_only", "user", "token_key", "created", "expiry", "last_used_at")

    def has_add_permission(self, request) -> bool:
        # A token's secret exists only at creation; users create theirs on the tokens page.
        return False


admin.site.unregister(User)


@admin.register(User)
class RoleUserAdmin(UserAdmin):
    """Django's user admin, bounded for the admin role (issue 23).

    A superuser keeps the whole of it. Anyone else manages users and their roles: they
    cannot make a superuser, grant a single permission, put a user in a group that is not
    a role, change a superuser (their password included) or change their own standing.
    """

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser or obj is None:
            return fieldsets
        return [
            (name, {**options, "fields": _without(options["fields"], ("user_permissions",))})
            for name, options in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if request.user.is_superuser or obj is None:
            return readonly
        readonly += [name for name in _SUPERUSER_ONLY_FIELDS if name not in readonly]
        if obj.pk == request.user.pk:
            readonly += [name for name in _OWN_STANDING_FIELDS if name not in readonly]
        return readonly

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups" and not request.user.is_superuser:
            kwargs["queryset"] = Group.objects.filter(name__in=ROLE_PERMISSIONS)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None) -> bool:
        if _is_beyond(request, obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if _is_beyond(request, obj):
            return False
        return super().has_delete_permission(request, obj)


def _is_beyond(request, user) -> bool:
    """Whether `user` is a superuser the requesting non-superuser must leave alone."""
    return user is not None and user.is_superuser and not request.user.is_superuser


def _without(fields, names):
    return tuple(field for field in fields if field not in names)
