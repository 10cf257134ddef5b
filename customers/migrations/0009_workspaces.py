"""Customers, imports and lines belong to a workspace; what exists moves into the default
one (workspaces.defaults). Customer ids become unique per workspace, and the line table's
key leads with the workspace, so a run reads only its shop's lines.

Django cannot change the columns of a composite primary key, so, as in 0006, the state
changes on its own and the table by hand: in place on PostgreSQL (one transaction), by a
copy into a new table on SQLite.
"""

import django.db.models.deletion
from django.db import migrations, models

LINES = "customers_transactionline"


def fill_workspace(apps, schema_editor):
    from workspaces.defaults import check_constraints_now, default_workspace

    customer_model = apps.get_model("customers", "Customer")
    import_model = apps.get_model("customers", "ImportRecord")
    if not (customer_model.objects.exists() or import_model.objects.exists()):
        return
    workspace = default_workspace(apps)
    customer_model.objects.update(workspace=workspace)
    import_model.objects.update(workspace=workspace)
    check_constraints_now(schema_editor)


def lines_keyed_by_workspace(apps, schema_editor):
    from workspaces.defaults import default_workspace

    connection = schema_editor.connection
    quote = schema_editor.quote_name
    line = apps.get_model("customers", "TransactionLine")  # the new state
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {LINES} LIMIT 1")  # noqa: S608
        has_lines = cursor.fetchone() is not None
    # Every line there is belongs to the default workspace, as its customer does.
    workspace_id = int(default_workspace(apps).pk) if has_lines else 0
    if connection.vendor == "postgresql":
        # A constant default fills the column without rewriting the table.
        schema_editor.execute(
            f"ALTER TABLE {LINES} ADD COLUMN workspace_id bigint NOT NULL DEFAULT {workspace_id}"
        )
        schema_editor.execute(f"ALTER TABLE {LINES} ALTER COLUMN workspace_id DROP DEFAULT")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
                [LINES],
            )
            (key_name,) = cursor.fetchone()
        schema_editor.execute(f"ALTER TABLE {LINES} DROP CONSTRAINT {quote(key_name)}")
        schema_editor.execute(
            f'ALTER TABLE {LINES} ADD PRIMARY KEY (workspace_id, customer_id, "timestamp", '
            "line_hash)"
        )
        return
    columns = [
        quote(f.column) for f in line._meta.local_concrete_fields if f.column != "workspace_id"
    ]
    old = f"{LINES}_before_workspaces"
    schema_editor.execute(f"ALTER TABLE {LINES} RENAME TO {old}")
    schema_editor.create_model(line)
    listed = ", ".join(columns)
    schema_editor.execute(
        f"INSERT INTO {LINES} (workspace_id, {listed}) "  # noqa: S608
        f"SELECT {workspace_id}, {listed} FROM {old}"
    )
    schema_editor.execute(f"DROP TABLE {old}")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0008_import_undone"),
        ("workspaces", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="workspace",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="workspaces.workspace",
            ),
        ),
        migrations.AddField(
            model_name="importrecord",
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
            model_name="customer",
            name="workspace",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="workspaces.workspace",
            ),
        ),
        migrations.AlterField(
            model_name="importrecord",
            name="workspace",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="workspaces.workspace",
            ),
        ),
        migrations.AlterField(
            model_name="customer",
            name="external_id",
            field=models.CharField(
                help_text="The shop's own customer id, as text (leading zeros kept).",
                max_length=64,
                verbose_name="customer id",
            ),
        ),
        migrations.AddConstraint(
            model_name="customer",
            constraint=models.UniqueConstraint(
                fields=("workspace", "external_id"), name="customer_id_unique_in_workspace"
            ),
        ),
        migrations.AddIndex(
            model_name="importrecord",
            index=models.Index(fields=["workspace", "-created_at"], name="import_workspace_idx"),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="transactionline",
                    name="workspace",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        default=0,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="workspaces.workspace",
                    ),
                    preserve_default=False,
                ),
                migrations.AlterField(
                    model_name="transactionline",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "workspace",
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
        # Not reversible, as 0006.
        migrations.RunPython(lines_keyed_by_workspace, elidable=False),
    ]
