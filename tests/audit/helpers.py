"""Emptying the audit log between test modules, through the same doors as `flush`."""

from __future__ import annotations

from django.db import connection

from audit.db_guard import flushing


def wipe_audit_log() -> None:
    """For module-scoped test data (tests/reports/site_data._wipe): entries refer to the
    workspaces and users such a module deletes when it ends. PostgreSQL's row triggers do
    not see TRUNCATE; SQLite's DELETE trigger lets audit's flush (and this) through."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("TRUNCATE audit_auditentry")
        else:
            with flushing():
                cursor.execute("DELETE FROM audit_auditentry")
