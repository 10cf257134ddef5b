"""The database refuses UPDATE and DELETE of audit entries (audit/db_guard.py)."""

from django.db import migrations


def create(apps, schema_editor):
    from audit.db_guard import create_triggers

    create_triggers(schema_editor)


def drop(apps, schema_editor):
    from audit.db_guard import drop_triggers

    drop_triggers(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
