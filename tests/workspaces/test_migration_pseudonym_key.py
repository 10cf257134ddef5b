"""Migration workspaces 0003: every existing shop gets its own pseudonym key (a field
default would give them all one). Runs `manage.py migrate` in a subprocess against a scratch
database: SQLite always, PostgreSQL when the suite runs on it."""

from __future__ import annotations

from tests.scratch_db import migrate, read_rows, write_rows

INSERT = (
    "INSERT INTO workspaces_workspace (name, slug, currency, time_zone, date_order, "
    "created_at) VALUES (?, ?, 'USD', 'UTC', '', '2024-01-01 00:00:00')"
)


def _check(url, tmp_path, connect, mark: str) -> None:
    migrate(url, tmp_path, "workspaces", "0002_time_zone_default_the_sites")
    write_rows(
        connect, mark, [(INSERT, (name, name.lower())) for name in ("North", "South", "East")]
    )

    migrate(url, tmp_path)

    keys = dict(
        read_rows(connect, "SELECT slug, pseudonym_key FROM workspaces_workspace ORDER BY slug")
    )
    assert {"north", "south", "east"} <= set(keys)
    assert all(len(k) == 64 and int(k, 16) >= 0 for k in keys.values())
    assert len(set(keys.values())) == len(keys)


def test_each_shop_gets_its_own_key(scratch_database, tmp_path):
    db = scratch_database
    _check(db.url, tmp_path, db.connect, db.mark)
