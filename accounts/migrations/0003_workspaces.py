"""Roles move from site-wide groups to memberships of a workspace: every user with a role
keeps it in the default workspace (workspaces.defaults), every token belongs there, and the
role groups go (a group would grant its role in every workspace)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

ROLES_BY_RANK = ["admin", "manager", "marketing"]


def roles_to_memberships(apps, schema_editor):
    from workspaces.defaults import check_constraints_now, default_workspace

    group_model = apps.get_model("auth", "Group")
    membership_model = apps.get_model("accounts", "Membership")
    token_model = apps.get_model("accounts", "ApiToken")
    user_model = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    groups = {g.name: g for g in group_model.objects.filter(name__in=ROLES_BY_RANK)}
    users = user_model.objects.filter(groups__in=groups.values()).distinct()
    if users.exists() or token_model.objects.exists():
        workspace = default_workspace(apps)
        for user in users:
            names = set(user.groups.filter(name__in=ROLES_BY_RANK).values_list("name", flat=True))
            role = next(name for name in ROLES_BY_RANK if name in names)
            membership_model.objects.get_or_create(
                user=user, workspace=workspace, defaults={"role": role}
            )
        token_model.objects.update(workspace=workspace)
    for group in groups.values():
        group.delete()
    check_constraints_now(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_roles"),
        ("workspaces", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Membership",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "role",
                    models.CharField(
                        choices=[
                            ("marketing", "Marketing"),
                            ("manager", "Manager"),
                            ("admin", "Admin"),
                        ],
                        max_length=16,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="memberships",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "workspace",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="memberships",
                        to="workspaces.workspace",
                    ),
                ),
            ],
            options={"ordering": ["workspace__name", "user__username"]},
        ),
        migrations.AddConstraint(
            model_name="membership",
            constraint=models.UniqueConstraint(
                fields=("workspace", "user"), name="one_role_per_workspace"
            ),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="workspace",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="workspaces.workspace",
            ),
        ),
        migrations.RunPython(roles_to_memberships, elidable=False),
        migrations.AlterField(
            model_name="apitoken",
            name="workspace",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="workspaces.workspace",
            ),
        ),
    ]
