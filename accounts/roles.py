"""The three roles and what each may do. A user holds a role per workspace (Membership);
accounts.backends grants the role's permissions while a request is in that workspace."""

from collections.abc import Iterable

from audit.permissions import AUDIT_PERMISSION

MARKETING = "marketing"
MANAGER = "manager"
ADMIN = "admin"

_MARKETING = [
    "accounts.view_segments",
    "accounts.lookup_customers",
    "accounts.export_segment_members",
]
# Customers' e-mail addresses and names (imported when the mapping has them): pages and
# exports show them only to roles holding this, managers and admins, not marketing.
PERSONAL_DATA_PERMISSION = "accounts.view_personal_data"
_MANAGER = _MARKETING + [
    "accounts.import_data",
    "accounts.manage_runs",
    "accounts.publish_runs",
    "accounts.view_run_reports",
    PERSONAL_DATA_PERMISSION,
]
# The workspace's members page (accounts.views.members) asks for this one. The role gives
# no Django admin access (is_staff): that is the site administrators' (superusers').
MEMBERS_PERMISSION = "auth.change_user"
# The audit log (/audit/, /api/v1/audit/): who did what in the workspace, for its admins.
# The shop's settings page (customers.views_settings): its name, currency, time zone and
# how its files are read, which a site administrator set alone before.
SHOP_SETTINGS_PERMISSION = "accounts.change_shop_settings"
_ADMIN = _MANAGER + [MEMBERS_PERMISSION, AUDIT_PERMISSION, SHOP_SETTINGS_PERMISSION]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    MARKETING: _MARKETING,
    MANAGER: _MANAGER,
    ADMIN: _ADMIN,
}

ROLE_CHOICES = [(MARKETING, "Marketing"), (MANAGER, "Manager"), (ADMIN, "Admin")]


def sync_roles(apps, permissions_by_role: dict[str, Iterable[str]] = ROLE_PERMISSIONS) -> None:
    """Create or update the role groups so each holds exactly its permissions.

    Takes an app registry so a data migration can pass its historical one.
    """
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrate; a fresh database needs them now.
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, apps=apps)

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role, names in permissions_by_role.items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = []
        for name in names:
            app_label, codename = name.split(".")
            wanted.append(
                permission_model.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)
