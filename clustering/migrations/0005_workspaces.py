"""Runs belong to a workspace (what exists moves into the default one) and each workspace
has its own published run."""

import django.db.models.deletion
from django.db import migrations, models


def fill_workspace(apps, schema_editor):
    from workspaces.defaults import check_constraints_now, default_workspace

    run_model = apps.get_model("clustering", "SegmentationRun")
    if run_model.objects.exists():
        run_model.objects.update(workspace=default_workspace(apps))
        check_constraints_now(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("clustering", "0004_value_ahead"),
        ("customers", "0009_workspaces"),
        ("workspaces", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="segmentationrun",
            name="workspace",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="workspaces.workspace",
            ),
        ),
        migrations.RunPython(fill_workspace, elidable=False),
        migrations.AlterField(
            model_name="segmentationrun",
            name="workspace",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="workspaces.workspace",
            ),
        ),
        migrations.RemoveConstraint(model_name="segmentationrun", name="one_published_run"),
        migrations.AddConstraint(
            model_name="segmentationrun",
            constraint=models.UniqueConstraint(
                condition=models.Q(("is_published", True)),
                fields=("workspace",),
                name="one_published_run_per_workspace",
            ),
        ),
        migrations.AddIndex(
            model_name="segmentationrun",
            index=models.Index(fields=["workspace", "-created_at"], name="run_workspace_idx"),
        ),
    ]
