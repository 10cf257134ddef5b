from django.db import migrations

# Room left in each page of the customer table for the next import's new versions of the
# same rows: updated in place (HOT), they write no index entries
# (docs/decisions/customer-updates-in-place.md).
FILLFACTOR = 80


def leave_room(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE customers_customer SET (fillfactor = {FILLFACTOR})")


def fill_pages(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE customers_customer RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("customers", "0014_customer_id_prefix_index")]

    operations = [migrations.RunPython(leave_room, fill_pages)]
