"""The first lines into an empty line table, on PostgreSQL: indexes dropped, lines COPYed
straight in as the file is read, indexes built again at the end, as pg_restore does (about
twice as fast as keeping them up to date; docs/performance.md has the numbers).

Only when the line table is empty in every workspace, not just the import's: dropping the
key of a table that holds other workspaces' lines would rebuild their index too (no faster
than staging) and keep their readers out (ACCESS EXCLUSIVE) for the whole import. So in
practice it serves a new deployment's first import; later ones, in any workspace, stage.

The setting IMPORT_BULK_LOAD_EMPTY_TABLE (default on) turns it off: every import is then
staged (the tests compare the two).
"""

from __future__ import annotations

import contextlib
import logging
import time

import numpy as np
import pandas as pd
import pyarrow as pa
from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from transaction_files.normalise import hashes_hex, line_hashes

from ..models import Customer, TransactionLine
from . import pgcopy
from .figures import LineFigures
from .staging import (
    CUSTOMER_COLUMNS,
    MoveCounts,
    PreparedChunk,
    StagingTable,
    combine_summaries,
    summarise_customers,
)

logger = logging.getLogger(__name__)

INDEX_BUILD_MEM = "256MB"
BULK_LOAD_LOCK_TIMEOUT = "2s"


def _copy_kind(field) -> object:
    """How pgcopy encodes a column of this model field."""
    kind = field.get_internal_type()
    if kind in ("BigAutoField", "BigIntegerField"):
        return "int8"
    if kind == "ForeignKey":
        return _copy_kind(field.target_field)
    kinds = {"BooleanField": "bool", "UUIDField": "uuid", "DateTimeField": "timestamptz"}
    if kind in kinds:
        return kinds[kind]
    if kind == "DecimalField":
        return ("numeric", field.decimal_places)
    if kind in ("CharField", "TextField"):
        return "text"
    raise TypeError(f"{field.name}: no COPY encoding for a {kind}")


# The line table's columns and their binary COPY kinds, in the order BulkLoad writes them:
# fixed-width ones first (pgcopy packs them into one record per line), text last.
LINE_COPY_KINDS = sorted(
    ((f.column, _copy_kind(f)) for f in TransactionLine._meta.concrete_fields),
    key=lambda column: column[1] == "text",
)
LINE_COPY_COLUMNS = [column for column, _ in LINE_COPY_KINDS]


def _no_line_stored() -> bool:
    """No line in any workspace (see the module doc)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {TransactionLine._meta.db_table} LIMIT 1")  # noqa: S608
        return cursor.fetchone() is None


@contextlib.contextmanager
def bulk_load(import_id: int, *, workspace_id: int):
    """A BulkLoad into `workspace_id` inside a transaction that stays open until the block
    ends (it commits if the block succeeds, and a failure rolls everything back, the dropped
    indexes included), or None outside any transaction: not PostgreSQL, lines already stored
    in any workspace, or the line table in use. Progress written meanwhile on this connection
    stays invisible until the commit."""
    if (
        connection.vendor != "postgresql"
        or not settings.IMPORT_BULK_LOAD_EMPTY_TABLE
        or not _no_line_stored()
    ):
        yield None
        return
    with transaction.atomic():
        loader = BulkLoad(import_id, workspace_id=workspace_id)
        if loader.start():
            yield loader
            return
    yield None


class BulkLoad(StagingTable):
    """The first lines into a line table empty in every workspace, on PostgreSQL (use
    bulk_load()).

    As pg_restore does: the line table's indexes are dropped, the lines COPYed straight into
    it as the file is read, and the indexes built again from the whole, about twice as fast
    as keeping them up to date row by row, and the reading overlaps the writing. With no
    staging table to deduplicate and join in SQL, prepare() (in the reader thread) drops
    duplicate lines (SeenHashes) and numbers new customers itself; the locks taken in
    start() keep anyone else from inserting lines or customers until commit. Customers are
    upserted at the end from the summaries, as StagingTable does, into the import's
    workspace (its customers alone are matched by customer id; the id counter is global).
    """

    def _tables(self) -> list[tuple[str, list]]:
        return [(self.customers_name, CUSTOMER_COLUMNS + [("id", "bigint")])]

    @property
    def _target(self) -> str:
        return f"{TransactionLine._meta.db_table} ({', '.join(LINE_COPY_COLUMNS)})"

    def start(self) -> bool:
        """Lock the line and customer tables, check that no line is stored (in any
        workspace), and drop the line table's indexes; False (nothing changed) if there are
        lines or the table is in use. Call inside transaction.atomic()."""
        line_table = TransactionLine._meta.db_table
        customer_table = Customer._meta.db_table
        with connection.cursor() as cursor:
            # As StagingTable.move does: one import writes lines at a time.
            cursor.execute(f"LOCK TABLE {line_table} IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {line_table})")  # noqa: S608
            if not cursor.fetchone()[0] or not self._lock_line_table(cursor):
                return False
            # Readers go on; writers of customers wait for our commit, so the ids we give
            # new customers stay free.
            cursor.execute(f"LOCK TABLE {customer_table} IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute(
                f"SELECT external_id, id FROM {customer_table} WHERE workspace_id = %s",  # noqa: S608
                [self.workspace_id],
            )
            self.customer_ids: dict[str, int] = dict(cursor.fetchall())
            self.last_customer_id = self._last_id(cursor, customer_table)
            self.first_new_id = self.last_customer_id + 1  # ids from here on are ours
            self.indexes = self._drop_indexes(cursor)
        self.figures = LineFigures()
        self.stored = self.returns = self.non_product = 0
        logger.info("%s: bulk load into the empty line table", self.name)
        return True

    @staticmethod
    def _last_id(cursor, table: str) -> int:
        """The largest id stored or handed out by the table's id sequence."""
        cursor.execute(
            f"""SELECT greatest(
                    (SELECT coalesce(max(id), 0) FROM {table}),
                    coalesce(pg_sequence_last_value(pg_get_serial_sequence(%s, 'id')), 0))
            """,  # noqa: S608 (our table)
            [table],
        )
        return cursor.fetchone()[0]

    def _lock_line_table(self, cursor) -> bool:
        """Take the line table's ACCESS EXCLUSIVE lock if it comes within
        BULK_LOAD_LOCK_TIMEOUT. A reader in a long transaction would otherwise keep us
        waiting, and every new reader would queue behind our request: then the lines are
        staged instead. Until commit, a reader of the (empty) table waits for us."""
        line_table = TransactionLine._meta.db_table
        cursor.execute("SELECT current_setting('lock_timeout')")
        previous = cursor.fetchone()[0]
        try:
            with transaction.atomic():
                cursor.execute("SET LOCAL lock_timeout = %s", [BULK_LOAD_LOCK_TIMEOUT])
                cursor.execute(f"LOCK TABLE {line_table} IN ACCESS EXCLUSIVE MODE")
        except OperationalError:
            logger.info("%s: the line table is in use; not bulk loading", self.name)
            return False
        finally:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
        return True

    def _drop_indexes(self, cursor) -> list[tuple]:
        """Drop the line table's indexes and constraints and return what rebuilds them
        (restore_indexes); an index that a foreign key into the table references stays."""
        line_table = TransactionLine._meta.db_table
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid),
                   c.conname, pg_get_constraintdef(c.oid)
            FROM pg_index i
            LEFT JOIN pg_constraint c
              ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
            WHERE i.indrelid = %s::regclass
              AND NOT EXISTS (
                  SELECT 1 FROM pg_constraint f
                  WHERE f.contype = 'f' AND f.conindid = i.indexrelid)
            ORDER BY i.indisprimary DESC, i.indexrelid
            """,
            [line_table],
        )
        indexes = cursor.fetchall()
        for index, _, constraint, _ in indexes:
            if constraint:
                cursor.execute(f'ALTER TABLE {line_table} DROP CONSTRAINT "{constraint}"')
            else:
                cursor.execute(f"DROP INDEX {index}")
        return indexes

    def _restore_indexes(self, cursor) -> None:
        line_table = TransactionLine._meta.db_table
        cursor.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEM}'")
        for _, index_sql, constraint, constraint_sql in self.indexes:
            if constraint:
                cursor.execute(
                    f'ALTER TABLE {line_table} ADD CONSTRAINT "{constraint}" {constraint_sql}'
                )
            else:
                cursor.execute(index_sql)

    def prepare(self, lines: pd.DataFrame) -> PreparedChunk | None:
        """The chunk's first occurrences of lines as a COPY stream of the line table's
        columns, with customer ids; runs in the reader thread, the only user of the
        seen hashes, the customer ids and the customer id counter until move()."""
        if lines.empty:
            return None
        hashes = line_hashes(lines)
        first = self.seen.first_seen(hashes)
        hashes, purchases = self.repeats.renumber(lines, hashes, first)
        keep = first | purchases
        kept = lines[keep]
        self.figures.add(kept)
        # Customer ids through the chunk's distinct customers (a few thousand at most): a
        # Series.map over every line costs ten times as much.
        codes, externals = pd.factorize(kept["customer_ext"])
        ids = np.empty(len(externals), dtype=np.int64)
        for i, external in enumerate(externals.tolist()):
            customer_id = self.customer_ids.get(external)
            if customer_id is None:
                self.last_customer_id += 1
                customer_id = self.customer_ids[external] = self.last_customer_id
            ids[i] = customer_id
        values = {
            "workspace_id": np.full(len(kept), self.workspace_id, dtype=np.int64),
            "customer_id": ids[codes],
            **{c: kept[c] for c in ["invoice", "product_code", "description", "country"]},
            **{c: kept[c].to_numpy(dtype=float) for c in ["quantity", "unit_price", "amount"]},
            "timestamp": kept["ts"],
            **{c: kept[c].to_numpy(dtype=bool) for c in ["is_return", "is_non_product"]},
            "import_record_id": np.full(len(kept), self.import_id, dtype=np.int64),
            "line_hash": hashes[keep],
        }
        payload, copy_format = self._copy_payload(values, len(kept))
        return PreparedChunk(
            rows=len(lines),
            payload=payload,
            copy_format=copy_format,
            customers=summarise_customers(lines),
            stored=len(kept),
            returns=int(kept["is_return"].sum()),
            non_product=int(kept["is_non_product"].sum()),
        )

    def _copy_payload(self, values: dict, rows: int) -> tuple[object, str]:
        """The lines (LINE_COPY_COLUMNS) as a binary COPY stream, or as CSV if a number is
        too large to encode exactly (the server then reports any overflow the same way)."""
        encodable = dict(values)
        encodable["timestamp"] = values["timestamp"].dt.as_unit("us").array.asi8
        for c, kind in LINE_COPY_KINDS:
            if kind == "text":
                encodable[c] = pa.array(values[c], type=pa.string(), from_pandas=True)
        try:
            columns = [(c, kind, encodable[c]) for c, kind in LINE_COPY_KINDS]
            return pgcopy.encode(columns, rows), "binary"
        except pgcopy.NotEncodable:
            pass
        hexes = hashes_hex(values["line_hash"]).to_numpy(zero_copy_only=False)
        frame = pd.DataFrame(
            {**values, "line_hash": hexes},
            index=values["timestamp"].index,
            columns=LINE_COPY_COLUMNS,
        )
        return self._payload(frame), "csv"

    def write(self, chunk: PreparedChunk | None) -> None:
        super().write(chunk)
        if chunk is not None:
            self.stored += chunk.stored
            self.returns += chunk.returns
            self.non_product += chunk.non_product

    def _insert_new_customers(self, cursor, customers: pd.DataFrame) -> int:
        """COPY the customers this load numbered straight into the customer table: no row
        can conflict (start() locked the table against other writers and these ids are
        past every stored one), so the upsert's staging table and conflict checks would be
        work for nothing (docs/scaling.md, ninth session)."""
        if customers.empty:
            return 0
        now = timezone.now()
        frame = pd.DataFrame(
            {
                "id": customers["id"],
                "workspace_id": self.workspace_id,
                "external_id": customers["customer_ext"],
                "country": customers["country"],
                "first_purchase_at": customers["first_ts"],
                "last_purchase_at": customers["last_ts"],
                "last_seen_at": customers["seen_ts"],
                "created_at": now,
                "updated_at": now,
            }
        ).sort_values("id")
        # _payload writes times as naive UTC: read them as UTC whatever the session's zone.
        cursor.execute("SET LOCAL TIME ZONE 'UTC'")
        columns = ", ".join(frame.columns)
        self._send(f"{Customer._meta.db_table} ({columns})", self._payload(frame))
        return len(frame)

    def move(self, *, import_id: int) -> MoveCounts:
        """Upsert the customers, move the id sequences past the ids handed out and build the
        indexes again; call inside the transaction that start() ran in."""
        customer_table = Customer._meta.db_table
        started = time.monotonic()
        customers_created = 0
        with connection.cursor() as cursor:
            if self._customer_parts:  # none if every row was skipped or rejected
                customers = combine_summaries(self._customer_parts)
                customers["id"] = customers["customer_ext"].map(self.customer_ids)
                new = customers["id"].to_numpy() >= self.first_new_id
                customers_created = self._insert_new_customers(cursor, customers[new])
                if not new.all():  # customers of the workspace stored before: widened
                    columns = [c for c, _ in CUSTOMER_COLUMNS] + ["id"]
                    self._send(self.customers_name, self._payload(customers.loc[~new, columns]))
                    customers_created += self._upsert_customers_pg(cursor, with_ids=True)
            if self.last_customer_id:  # 0: no id given out; a sequence cannot be set to 0
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
                    [customer_table, self.last_customer_id],
                )
            customers_done = time.monotonic()
            self._restore_indexes(cursor)
            indexes_done = time.monotonic()
        # As after pg_restore: without statistics the planner takes the filled tables for
        # nearly empty until autovacuum analyses them, and the next import's move sorted
        # every stored line of the workspace (docs/scaling.md). Once committed, with a small
        # sample: at full size it was a sixth of Online Retail's import.
        transaction.on_commit(lambda: _analyze(customer_table), robust=True)
        logger.info(
            "%s moved (bulk load): customers %.2f s, indexes built %.2f s",
            self.name,
            customers_done - started,
            indexes_done - customers_done,
        )
        return MoveCounts(
            staged=self.rows,
            distinct=self.stored,
            inserted=self.stored,
            customers_created=customers_created,
            returns=self.returns,
            non_product=self.non_product,
            totals=self.figures.totals(),
        )


def _analyze(customer_table: str) -> None:
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        # What the planner lacked was the tables' size, which a small sample gives: 3,000
        # rows instead of 30,000, 26-52 ms instead of 0.5-1.0 s on 1.9M lines.
        cursor.execute("SET LOCAL default_statistics_target = 10")
        cursor.execute(f"ANALYZE {TransactionLine._meta.db_table}")
        cursor.execute(f"ANALYZE {customer_table}")
    logger.info(
        "lines and customers analysed after the bulk load: %.2f s", time.monotonic() - started
    )
