"""The line table's key becomes (customer, timestamp, line_hash), its one index; the id
column and its index go.

Django cannot alter a primary key into a composite one, so the state changes on its own
and the table is changed by hand: on PostgreSQL in place (the unique constraint gives way
to the primary key over the same columns), on SQLite, which cannot alter a primary key,
by copying the lines into a new table. Lines are never without deduplication: on
PostgreSQL the whole change is one transaction.
"""

from django.db import migrations, models

TABLE = "customers_transactionline"


def _to_composite_key(apps, schema_editor):
    connection = schema_editor.connection
    quote = schema_editor.quote_name
    if connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT line_unique_content")
        schema_editor.execute(f"ALTER TABLE {TABLE} DROP COLUMN id")
        schema_editor.execute(
            f'ALTER TABLE {TABLE} ADD PRIMARY KEY (customer_id, "timestamp", line_hash)'
        )
        return
    line = apps.get_model("customers", "TransactionLine")  # the new state
    columns = ", ".join(quote(f.column) for f in line._meta.local_concrete_fields)
    old = f"{TABLE}_with_id"
    schema_editor.execute(f"ALTER TABLE {TABLE} RENAME TO {old}")
    schema_editor.create_model(line)
    schema_editor.execute(
        f"INSERT INTO {TABLE} ({columns}) SELECT {columns} FROM {old}"  # noqa: S608
    )
    schema_editor.execute(f"DROP TABLE {old}")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0005_purchases_only_and_last_seen"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(
                    model_name="transactionline",
                    name="line_unique_content",
                ),
                migrations.RemoveField(
                    model_name="transactionline",
                    name="id",
                ),
                migrations.AddField(
                    model_name="transactionline",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "customer",
                        "timestamp",
                        "line_hash",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
            ],
        ),
        # Not reversible: the lines' old ids are gone.
        migrations.RunPython(_to_composite_key, elidable=False),
    ]
