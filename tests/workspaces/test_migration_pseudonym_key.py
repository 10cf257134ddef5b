"""Migration workspaces 0003: every existing shop gets its own pseudonym key (a field
default would give them all one). Runs `manage.py migrate` in a subprocess against a scratch
database: SQLite always, PostgreSQL when the suite runs on it."""

from __future__ import annotations

import sqlite3

from django.db import connection

from tests.conftest import require
from tests.customers.test_migrations import _migrate
from tests.scratch_db import read_rows, scratch_postgres, write_rows

INSERT = (
    "INSERT INTO workspaces_workspace (name, slug, currency, time_zone, date_order, "
    "created_at) VALUES (?, ?, 'USD', 'UTC', '', '2024-01-01 00:00:00')"
)


def _check(url, tmp_path, connect, mark: str) -> None:
    _migrate(url, tmp_path, "workspaces", "0002_time_zone_default_the_sites")
    write_rows(
        connect, mark, [(INSERT, (name, name.lower())) for name in ("North", "South", "East")]
    )

    _migrate(url, tmp_path)

    keys = dict(
        read_rows(connect, "SELECT slug, pseudonym_key FROM workspaces_workspace ORDER BY slug")
    )
    assert {"north", "south", "east"} <= set(keys)
    assert all(len(k) == 64 and int(k, 16) >= 0 for k in keys.values())
    assert len(set(keys.values())) == len(keys)


def test_each_shop_gets_its_own_key_on_sqlite(tmp_path):
    path = tmp_path / "before.sqlite3"
    _check(f"sqlite:///{path}", tmp_path, lambda: sqlite3.connect(path), "?")


def test_each_shop_gets_its_own_key_on_postgresql(db, tmp_path):
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    with scratch_postgres("migration_key") as (url, connect):
        _check(url, tmp_path, connect, "%s")
