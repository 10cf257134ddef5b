from django.db import migrations

# Room left in each page of the customer table for the next import's new versions of the
# same rows: updated in place (HOT), they write no index entries
# (docs/decisions/customer-updates-in-place.md).
FILLFACTOR = 80


def _table(apps, schema_editor) -> str:
    return schema_editor.quote_name(apps.get_model("customers", "Customer")._meta.db_table)


def leave_room(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        table = _table(apps, schema_editor)
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {FILLFACTOR})")


def fill_pages(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {_table(apps, schema_editor)} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("customers", "0014_customer_id_prefix_index")]

    operations = [migrations.RunPython(leave_room, fill_pages)]
