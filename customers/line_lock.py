"""The line table's writer lock: one writer of customers' lines at a time."""

from __future__ import annotations

from django.db import connection

from .models import TransactionLine


def lock_line_writers() -> None:
    """Hold, until the transaction ends, the lock an import's move takes (readers, and a
    run's snapshot, go on): no import stores a line for a customer being removed or kept
    out meanwhile. SQLite has one writer anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            table = TransactionLine._meta.db_table
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
