"""A PostgreSQL database of a test's own, beside the test database: for tests that run
`manage.py migrate` in a subprocess against a database holding what an older schema held."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from django.db import connection


def postgres_params() -> dict:
    """psycopg2.connect() keywords for the test database's server, without the database
    name: for sessions outside Django's."""
    settings_dict = connection.settings_dict
    return {
        "user": settings_dict["USER"],
        "password": settings_dict["PASSWORD"],
        "host": settings_dict["HOST"],
        "port": settings_dict["PORT"] or 5432,
    }


@contextlib.contextmanager
def scratch_postgres(prefix: str) -> Iterator[tuple[str, Callable]]:
    """(its URL, a function that opens a psycopg2 connection to it) of a new, empty
    database named `prefix` and a random suffix; dropped afterwards."""
    params = postgres_params()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(dbname="postgres", **params)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    try:
        password = f":{params['password']}" if params["password"] else ""
        url = f"postgres://{params['user']}{password}@{params['host']}:{params['port']}/{name}"
        yield url, lambda: psycopg2.connect(dbname=name, **params)
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def write_rows(connect: Callable, mark: str, statements: list[tuple[str, tuple]]) -> None:
    """Run (sql, params) statements in one transaction of a connection `connect` opens; "?"
    in the SQL stands for the driver's parameter mark (`mark`: "?" or "%s")."""
    db = connect()
    try:
        cursor = db.cursor()
        for sql, params in statements:
            cursor.execute(sql.replace("?", mark), params)
        db.commit()
    finally:
        db.close()


def read_rows(connect: Callable, sql: str) -> list[tuple]:
    """The rows of one query, on a connection `connect` opens and closes."""
    db = connect()
    try:
        cursor = db.cursor()
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        db.close()


ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ScratchDatabase:
    """A scratch database (the `scratch_database` fixture): its URL for `manage.py`, a
    function opening a DB-API connection to it, and its driver's parameter mark."""

    url: str
    connect: Callable
    mark: str


def migrate(url: str, tmp_path: Path, *target: str) -> None:
    """`manage.py migrate [app migration]` in a subprocess against the database at `url`."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SETTINGS_MODULE": "segmentation_site.settings.base",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0", *target],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
