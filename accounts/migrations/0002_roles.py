from django.db import migrations

# The roles as they were at this migration: a later capability (0004: the audit log) does
# not exist yet here. From 0003 on, roles are memberships read from accounts.roles, not
# groups, so no later migration needs to sync them.
_MARKETING = [
    "accounts.view_segments",
    "accounts.lookup_customers",
    "accounts.export_segment_members",
]
_MANAGER = _MARKETING + [
    "accounts.import_data",
    "accounts.manage_runs",
    "accounts.publish_runs",
    "accounts.view_run_reports",
]
ROLES_HERE = {
    "marketing": _MARKETING,
    "manager": _MANAGER,
    "admin": _MANAGER + ["auth.change_user"],
}


def create_roles(apps, schema_editor):
    from accounts.roles import sync_roles

    sync_roles(apps, ROLES_HERE)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
