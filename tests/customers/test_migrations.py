"""Migration 0006 (the line table's composite primary key) on a database that has lines:
they all survive, the id column goes, and the new key refuses a duplicate. Migration 0007
(an import's percent and error_message renamed progress and error) on a database that has
an import: its values and its rejected row survive, and the 0-100 check still holds. Runs
`manage.py migrate` in a subprocess against a scratch database: SQLite always, PostgreSQL
when the suite runs on it."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import psycopg2
import pytest
from django.db import connection

from tests.conftest import require
from tests.scratch_db import migrate, scratch_postgres

BEFORE = "0005_purchases_only_and_last_seen"
LINES = [
    # id, customer_id, invoice, product, description, quantity, unit price, amount, time,
    # country, return, non-product, import record, hash
    (1, 7, "536365", "85123A", "HEART", "6", "2.55", "15.3", "2010-12-01 08:26:00+00",
     "UK", False, False, 1, uuid.UUID(int=1)),
    (2, 7, "536365", "71053", "LANTERN", "6", "3.39", "20.34", "2010-12-01 08:26:00+00",
     "UK", False, False, 1, uuid.UUID(int=2)),
    (3, 8, "C536379", "D", "Discount", "-1", "27.5", "-27.5", "2010-12-01 09:41:00+00",
     "UK", True, True, 1, uuid.UUID(int=3)),
]  # fmt: skip
COLUMNS = (
    "id, customer_id, invoice, product_code, description, quantity, unit_price, amount, "
    '"timestamp", country, is_return, is_non_product, import_record_id, line_hash'
)
KEPT = "customer_id, invoice, amount, is_return, line_hash"
# The import the lines came from (id 1), failed part-way, with one rejected row; literals
# that both SQLite and PostgreSQL read.
IMPORT = (
    "INSERT INTO customers_importrecord (id, file, file_name, file_size, sha256, created_at, "
    "mapping, date_order, sheet, columns, status, stage, percent, rows_read, rows_imported, "
    "rows_skipped, rows_duplicate, rows_rejected, customers_created, counts_by_reason, "
    "notices, error_message) VALUES (1, '', 'shop.csv', 120, 'ab', '2010-12-02 10:00:00', "
    "'{}', '', '', '[]', 'failed', 'failed', 40, 4, 0, 0, 0, 1, 0, '{}', '[]', "
    "'The database went away.')"
)
REJECTED = (
    'INSERT INTO customers_importrejectedrow (import_record_id, line_number, "column", value, '
    "message) VALUES (1, 4, 'InvoiceDate', 'soon', 'unreadable date')"
)


def _check_migration(url: str, tmp_path: Path, connect, placeholder: str, to_row) -> None:
    """connect(): a DB-API connection to the scratch database; to_row(line): its values."""
    migrate(url, tmp_path, "customers", BEFORE)
    insert = "INSERT INTO customers_transactionline ({}) VALUES ({})"
    db = connect()
    try:
        marks = ", ".join([placeholder] * len(LINES[0]))
        db.cursor().executemany(insert.format(COLUMNS, marks), [to_row(line) for line in LINES])
        db.cursor().execute(IMPORT)
        db.cursor().execute(REJECTED)
        db.commit()
    finally:
        db.close()

    migrate(url, tmp_path)

    db = connect()
    try:
        cursor = db.cursor()
        cursor.execute(f"SELECT {KEPT} FROM customers_transactionline ORDER BY line_hash")  # noqa: S608
        rows = cursor.fetchall()
        assert [(r[0], r[1], str(r[4]).replace("-", ""), bool(r[3])) for r in rows] == [
            (line[1], line[2], line[13].hex, line[10]) for line in LINES
        ]
        cursor.execute("SELECT * FROM customers_transactionline WHERE 1 = 0")
        assert "id" not in [column[0] for column in cursor.description]
        # 0009: every line is in the default workspace, as its import is.
        cursor.execute("SELECT id FROM workspaces_workspace WHERE slug = 'main'")
        (workspace_id,) = cursor.fetchone()
        cursor.execute("SELECT DISTINCT workspace_id FROM customers_transactionline")
        assert cursor.fetchall() == [(workspace_id,)]
        cursor.execute("SELECT workspace_id FROM customers_importrecord")
        assert cursor.fetchall() == [(workspace_id,)]
        # The new key refuses the same workspace, customer, time and hash again.
        columns = "workspace_id, " + COLUMNS.split(", ", 1)[1]
        duplicate = (workspace_id, *to_row(LINES[0])[1:])
        marks = ", ".join([placeholder] * len(duplicate))
        with pytest.raises((sqlite3.IntegrityError, psycopg2.IntegrityError)):
            cursor.execute(insert.format(columns, marks), duplicate)
        db.rollback()
        # Another hash for the same customer and time is a line of its own.
        other = (*duplicate[:-1], to_row((*LINES[0][:13], uuid.UUID(int=4)))[-1])
        cursor.execute(insert.format(columns, marks), other)
        # And the same line in another workspace is a line of that workspace.
        cursor.execute(
            "INSERT INTO workspaces_workspace (name, slug, currency, time_zone, date_order, "
            "pseudonym_key, code_page, customer_ids_kept, created_at) VALUES ('Other', 'other', "
            "'USD', 'UTC', '', 'key', 'cp1252', '', '2024-01-01 00:00:00')"
        )
        cursor.execute("SELECT id FROM workspaces_workspace WHERE slug = 'other'")
        (other_workspace,) = cursor.fetchone()
        cursor.execute(insert.format(columns, marks), (other_workspace, *duplicate[1:]))
        db.commit()

        # 0007: the import keeps its values under the new names, and its rejected row.
        cursor.execute("SELECT file_name, status, progress, error FROM customers_importrecord")
        assert cursor.fetchall() == [("shop.csv", "failed", 40, "The database went away.")]
        cursor.execute("SELECT import_record_id, message FROM customers_importrejectedrow")
        assert cursor.fetchall() == [(1, "unreadable date")]
        with pytest.raises((sqlite3.IntegrityError, psycopg2.IntegrityError)):
            cursor.execute("UPDATE customers_importrecord SET progress = 101")
        db.rollback()
    finally:
        db.close()


def test_migration_to_the_composite_key_keeps_the_lines_on_sqlite(tmp_path):
    path = tmp_path / "before.sqlite3"

    def to_row(line):
        return (*line[:8], line[8].replace("+00", ""), *line[9:13], line[13].hex)

    _check_migration(f"sqlite:///{path}", tmp_path, lambda: sqlite3.connect(path), "?", to_row)


def test_migration_to_the_composite_key_keeps_the_lines_on_postgresql(db, tmp_path):
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    with scratch_postgres("migration_check") as (url, connect):
        _check_migration(url, tmp_path, connect, "%s", tuple)
