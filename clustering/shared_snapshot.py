"""Reads of one PostgreSQL snapshot on several connections at once.

A run's GROUP BY over every line is one backend's work on one core (its COUNT(DISTINCT)
aggregates keep PostgreSQL from parallelising it). Cut by ranges of customers, the parts run
on as many connections, each in the snapshot the run's reading transaction exported
(``pg_export_snapshot``), so together they read exactly what one statement would have
(docs/performance.md, "A run's reads at a million customers").
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.db import connection, connections, transaction
from django.utils import timezone

T = TypeVar("T")


def exported_snapshot() -> str | None:
    """The id of the current transaction's snapshot for other connections, or None where it
    cannot be shared: not PostgreSQL, or no REPEATABLE READ transaction of our own (a test's
    transaction, say, whose rows other connections cannot see)."""
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SHOW transaction_isolation")
        if cursor.fetchone()[0] != "repeatable read":
            return None
        cursor.execute("SELECT pg_export_snapshot()")
        return cursor.fetchone()[0]


def in_snapshot(snapshot: str, jobs: list[Callable[[], T]]) -> list[T]:
    """Each job on its own connection (a thread), all in ``snapshot``; results in order. The
    exporting transaction must stay open until they end."""

    zone = timezone.get_current_timezone()  # the caller's (the shop's): threads start in the site's

    def run(job: Callable[[], T]) -> T:
        try:
            with timezone.override(zone), transaction.atomic(), _snapshot_of(snapshot):
                return job()
        finally:
            connections.close_all()  # this thread's connection, not the caller's

    with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="snapshot") as pool:
        return list(pool.map(run, jobs))


@contextlib.contextmanager
def _snapshot_of(snapshot: str) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SET TRANSACTION SNAPSHOT %s", [snapshot])
    yield
