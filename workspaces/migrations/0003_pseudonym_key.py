"""Each shop gets its own key for the pseudonyms of customer ids that are e-mail addresses;
a field default would give every existing shop the same one."""

from django.db import migrations, models

import workspaces.models


def give_each_shop_a_key(apps, schema_editor):
    Workspace = apps.get_model("workspaces", "Workspace")
    for workspace in Workspace.objects.all():
        workspace.pseudonym_key = workspaces.models.new_pseudonym_key()
        workspace.save(update_fields=["pseudonym_key"])


class Migration(migrations.Migration):
    dependencies = [("workspaces", "0002_time_zone_default_the_sites")]

    operations = [
        migrations.AddField(
            model_name="workspace",
            name="pseudonym_key",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(give_each_shop_a_key, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="workspace",
            name="pseudonym_key",
            field=models.CharField(
                default=workspaces.models.new_pseudonym_key, editable=False, max_length=64
            ),
        ),
    ]
