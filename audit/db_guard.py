"""The database's own refusal to change or delete audit entries (migration 0002's triggers).

PostgreSQL: one trigger function refuses UPDATE and DELETE, except the UPDATE that only
clears actor_id (the actor's user was deleted: on_delete=SET_NULL; actor_name keeps who).
SQLite: the same with three triggers. The one deliberate bulk deletion is `flush` (tests'
teardown, a developer's reset): on PostgreSQL it TRUNCATEs, which row triggers do not see;
on SQLite it DELETEs, so audit's `flush` command opens the SQL function audit_flushing()
that the DELETE trigger asks. Any other connection (the sqlite3 shell) lacks the function,
and the trigger then fails too: refusing is the default.
"""

from __future__ import annotations

import contextlib
import threading

TABLE = "audit_auditentry"

_flushing = threading.local()

POSTGRESQL_CREATE = f"""
CREATE OR REPLACE FUNCTION {TABLE}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.actor_id IS NULL AND OLD.actor_id IS NOT NULL
       AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'Audit entries are append-only: % refused.', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION {TABLE}_append_only();
"""
POSTGRESQL_DROP = f"""
DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE};
DROP FUNCTION IF EXISTS {TABLE}_append_only();
"""

# Every column but actor_id; a migration that adds a column to AuditEntry adds it here
# (and on SQLite, where ALTER remakes the table, re-creates these triggers).
_COLUMNS = ", ".join(
    ["id", "workspace_id", "at", "actor_name", "action"]
    + ["target_type", "target_id", "target_repr", "address", "details"]
)
SQLITE_CREATE = [
    f"""CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE OF {_COLUMNS} ON {TABLE}
    BEGIN SELECT RAISE(ABORT, 'Audit entries are append-only: UPDATE refused.'); END""",
    f"""CREATE TRIGGER {TABLE}_actor_only_cleared BEFORE UPDATE OF actor_id ON {TABLE}
    WHEN NEW.actor_id IS NOT NULL
    BEGIN SELECT RAISE(ABORT, 'Audit entries are append-only: UPDATE refused.'); END""",
    f"""CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE}
    WHEN NOT audit_flushing()
    BEGIN SELECT RAISE(ABORT, 'Audit entries are append-only: DELETE refused.'); END""",
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {TABLE}_no_update",
    f"DROP TRIGGER IF EXISTS {TABLE}_actor_only_cleared",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_delete",
]


def create_triggers(schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # params=None: the SQL holds a literal % (RAISE), not a placeholder.
        schema_editor.execute(POSTGRESQL_CREATE, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_CREATE:
            schema_editor.execute(statement)
    else:
        raise NotImplementedError(
            f"The audit log's append-only triggers are written for PostgreSQL and SQLite, "
            f"not {vendor}."
        )


def drop_triggers(schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement)


def is_flushing() -> int:
    return 1 if getattr(_flushing, "on", False) else 0


@contextlib.contextmanager
def flushing():
    """While the whole database is being emptied (audit's flush command)."""
    _flushing.on = True
    try:
        yield
    finally:
        _flushing.on = False


def register_sqlite_function(sender, connection, **kwargs) -> None:
    """connection_created receiver: gives SQLite connections audit_flushing()."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("audit_flushing", 0, is_flushing)
