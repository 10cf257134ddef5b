"""Move normalised lines into the database in set-based SQL, through a staging table.

Lines go first into a temporary staging table (PostgreSQL: COPY; SQLite: executemany),
outside the final transaction so progress stays visible; per-customer first/last purchase
and latest country are aggregated in pandas as chunks pass (bounded by the number of
customers). prepare() does the CPU work of a chunk (the line hashes, CSV text or row tuples,
the customer summary) without touching the database, so a reader thread can run it while
write() sends the previous chunk. Then, in one transaction that first takes the line table's
SHARE ROW EXCLUSIVE lock (one import moves at a time; readers go on), customers are upserted
and new lines inserted (sql.py), all in the import's workspace, so a line already stored
(re-import, overlapping file, duplicate within the file) is not stored twice: on PostgreSQL
with one INSERT ... SELECT DISTINCT ON ... WHERE NOT EXISTS in the order of the line
table's one index, its primary key (workspace, customer, timestamp, line_hash), so that
index fills in order, falling back to ON CONFLICT DO NOTHING if a concurrent import stored
one of the lines first. Into an empty line table, bulk_load.py does without the staging
table. Why each choice, with its numbers: docs/performance.md.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from transaction_files.normalise import hashes_hex, line_hashes

from ..models import Customer, TransactionLine
from .dedupe import RepeatedPurchases, SeenHashes
from .figures import StoredTotals
from .sql import insert_lines_sql, upsert_customers_sql

logger = logging.getLogger(__name__)

LINE_STAGE_COLUMNS = [
    ("line_no", "bigint"),
    ("customer_ext", "text"),
    ("invoice", "text"),
    ("product_code", "text"),
    ("description", "text"),
    ("quantity", "numeric"),
    ("unit_price", "numeric"),
    ("amount", "numeric"),
    # PostgreSQL: microseconds since the epoch (see _lines_payload); SQLite: UTC text.
    ("ts", "bigint"),
    ("country", "text"),
    ("is_return", "boolean"),
    ("is_non_product", "boolean"),
    ("line_hash", "uuid"),
]
CUSTOMER_COLUMNS = [
    ("customer_ext", "text"),
    ("country", "text"),
    ("first_ts", "timestamp"),  # purchases only; empty if the chunk has none
    ("last_ts", "timestamp"),
    ("seen_ts", "timestamp"),  # any line
]
# Collapse the per-chunk customer summaries after this many chunks (memory stays bounded).
COLLAPSE_EVERY = 16
COPY_BLOCK_BYTES = 1024 * 1024
# For the move's sort and hash of the staged lines (400k lines sort in about 75 MB; a larger
# file sorts on disk, still correctly).
MOVE_WORK_MEM = "128MB"
#: A file staging fewer lines than this share of the stored ones has each line looked up in
#: the primary key instead of hashing the whole line table (_probe_each_line); a lookup costs
#: about four times a stored line's share of the hash (docs/scaling.md).
PROBE_SHARE = 0.25


@dataclass
class PreparedChunk:
    rows: int
    payload: object  # a COPY stream (PostgreSQL) or row tuples (SQLite)
    customers: pd.DataFrame  # summarise_customers() of the chunk
    # BulkLoad only: the lines of the payload (first occurrences), and their flags.
    stored: int = 0
    returns: int = 0
    non_product: int = 0
    copy_format: str = "csv"  # PostgreSQL: the COPY stream's format (BulkLoad: binary)


@dataclass
class MoveCounts:
    staged: int
    distinct: int
    inserted: int
    customers_created: int
    returns: int
    non_product: int
    # The inserted lines' totals, counted by the move (None: read them back, figures.py).
    totals: StoredTotals | None = None

    @property
    def duplicate_in_file(self) -> int:
        return self.staged - self.distinct

    @property
    def already_imported(self) -> int:
        return self.distinct - self.inserted

    @property
    def not_stored(self) -> int:
        """Lines not stored again: duplicates within the file plus lines already stored."""
        return self.staged - self.inserted


def summarise_customers(lines: pd.DataFrame) -> pd.DataFrame:
    """customer_ext, country (of the latest line), first_ts and last_ts (of purchases: not
    returns, not postage or fees, as a segmentation run counts them), seen_ts (latest line)."""
    ordered = lines.sort_values(["ts", "line_no"], kind="stable")
    grouped = ordered.groupby("customer_ext", sort=False)
    purchase = ~(ordered["is_return"] | ordered["is_non_product"])
    purchases = ordered["ts"].where(purchase).groupby(ordered["customer_ext"], sort=False)
    return pd.DataFrame(
        {
            "country": grouped["country"].last(),
            "first_ts": purchases.min(),
            "last_ts": purchases.max(),
            "seen_ts": grouped["ts"].max(),
            "line_no": grouped["line_no"].last(),
        }
    ).reset_index()


def combine_summaries(parts: list[pd.DataFrame]) -> pd.DataFrame:
    both = pd.concat(parts, ignore_index=True)
    ordered = both.sort_values(["seen_ts", "line_no"], kind="stable")
    grouped = ordered.groupby("customer_ext", sort=False)
    return pd.DataFrame(
        {
            "country": grouped["country"].last(),
            "first_ts": grouped["first_ts"].min(),
            "last_ts": grouped["last_ts"].max(),
            "seen_ts": grouped["seen_ts"].max(),
            "line_no": grouped["line_no"].last(),
        }
    ).reset_index()


class StagingTable:
    """The lines of one import on their way into `workspace_id`'s customers and lines."""

    def __init__(self, import_id: int, *, workspace_id: int):
        self.import_id = import_id
        self.workspace_id = workspace_id
        self.name = f"import_staging_{import_id}"
        self.customers_name = f"{self.name}_customers"
        self.vendor = connection.vendor
        self.rows = 0
        self.seen = SeenHashes()  # prepare() is its only user, in one thread
        self.repeats = RepeatedPurchases()  # likewise
        self._customer_parts: list[pd.DataFrame] = []
        with connection.cursor() as cursor:
            for name, columns in self._tables():
                cursor.execute(f"DROP TABLE IF EXISTS {name}")
                cursor.execute(f"CREATE TEMPORARY TABLE {name} ({self._columns(columns)})")

    def _tables(self) -> list[tuple[str, list]]:
        return [(self.name, LINE_STAGE_COLUMNS), (self.customers_name, CUSTOMER_COLUMNS)]

    @property
    def _target(self) -> str:
        """Where write() sends the lines."""
        return self.name

    def _columns(self, columns) -> str:
        if self.vendor == "postgresql":
            return ", ".join(f"{name} {kind}" for name, kind in columns)
        return ", ".join(name for name, _ in columns)

    def add(self, lines: pd.DataFrame) -> None:
        self.write(self.prepare(lines))

    def prepare(self, lines: pd.DataFrame) -> PreparedChunk | None:
        """The chunk ready to send, and its customer summary; no database access, so it may
        run in another thread."""
        if lines.empty:
            return None
        hashes = line_hashes(lines)
        # The file's distinct lines, counted as they pass rather than by a DISTINCT over the
        # staged table in the move, which holds the line table's lock.
        hashes, _ = self.repeats.renumber(lines, hashes, self.seen.first_seen(hashes))
        return PreparedChunk(
            rows=len(lines),
            payload=self._lines_payload(lines, hashes),
            customers=summarise_customers(lines),
        )

    def write(self, chunk: PreparedChunk | None) -> None:
        if chunk is None:
            return
        with transaction.atomic():
            self._send(self._target, chunk.payload, copy_format=chunk.copy_format)
        self.rows += chunk.rows
        self._customer_parts.append(chunk.customers)
        if len(self._customer_parts) >= COLLAPSE_EVERY:
            self._customer_parts = [combine_summaries(self._customer_parts)]

    def _lines_payload(self, lines: pd.DataFrame, hashes: np.ndarray):
        frame = lines[[c for c, _ in LINE_STAGE_COLUMNS if c != "line_hash"]].copy()
        if self.vendor == "postgresql":
            # COPY reads a bigint faster than a timestamp's text, and pyarrow writes it faster.
            utc = frame["ts"].dt.tz_convert("UTC").dt.tz_localize(None)
            frame["ts"] = utc.dt.as_unit("us").astype("int64")
        frame["line_hash"] = hashes_hex(hashes).to_numpy(zero_copy_only=False)
        return self._payload(frame)

    def _payload(self, frame: pd.DataFrame):
        """CSV bytes for COPY (PostgreSQL) or row tuples for executemany (SQLite)."""
        if self.vendor == "postgresql":
            # Times go as naive UTC (the SQL adds AT TIME ZONE 'UTC'): pyarrow writes a
            # time-zone-aware column several times slower.
            frame = frame.copy()
            for name in frame.columns:
                if isinstance(frame[name].dtype, pd.DatetimeTZDtype):
                    frame[name] = frame[name].dt.tz_convert("UTC").dt.tz_localize(None)
            arrow = pa.Table.from_pandas(frame, preserve_index=False)
            buffer = io.BytesIO()
            pacsv.write_csv(arrow, buffer, write_options=pacsv.WriteOptions(include_header=False))
            buffer.seek(0)
            return buffer
        frame = frame.copy()
        for name in frame.columns:
            if isinstance(frame[name].dtype, pd.DatetimeTZDtype):
                # Django keeps SQLite datetimes as UTC text without offset.
                text = frame[name].dt.strftime("%Y-%m-%d %H:%M:%S")
                frame[name] = text.astype(object).where(frame[name].notna(), None)
            elif frame[name].dtype.kind == "f":
                frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
        return list(frame.itertuples(index=False, name=None))

    def _send(self, table: str, payload, *, copy_format: str = "csv") -> None:
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                # psycopg2's cursor under Django's wrapper; it releases the GIL while the
                # server works, so the reader thread keeps going.
                cursor.cursor.copy_expert(
                    f"COPY {table} FROM STDIN WITH (FORMAT {copy_format})",
                    payload,
                    size=COPY_BLOCK_BYTES,
                )
                return
            if payload:
                placeholders = ", ".join(["%s"] * len(payload[0]))
                cursor.executemany(
                    f"INSERT INTO {table} VALUES ({placeholders})",  # noqa: S608 (our table)
                    payload,
                )

    def drop(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.name}")
            cursor.execute(f"DROP TABLE IF EXISTS {self.customers_name}")

    def move(self, *, import_id: int) -> MoveCounts:
        """Upsert customers and insert new lines; call inside transaction.atomic()."""
        line_table = TransactionLine._meta.db_table
        pg = self.vendor == "postgresql"
        started = time.monotonic()
        if self._customer_parts:
            customers = combine_summaries(self._customer_parts)
            frame = customers[[c for c, _ in CUSTOMER_COLUMNS]]
            self._send(self.customers_name, self._payload(frame))
        with connection.cursor() as cursor:
            # No ANALYZE of the staging tables: never analysed, PostgreSQL estimates their
            # rows from their size on disk, which is enough to choose a hash join.
            if pg:
                # For the DISTINCT/ORDER BY of the staged lines; reverts at commit.
                cursor.execute(f"SET LOCAL work_mem = '{MOVE_WORK_MEM}'")
                # One import moves its lines at a time (readers go on).
                cursor.execute(f"LOCK TABLE {line_table} IN SHARE ROW EXCLUSIVE MODE")
            distinct = len(self.seen) + self.repeats.count
            if pg:
                # Chosen before the upsert, which moves the customers' last-seen times on.
                probe = self._probe_each_line(cursor)
                newest = self._newest_stored_time(cursor) if probe else None
                customers_created = self._upsert_customers_pg(cursor)
            else:
                customers_before = self._count_customers(cursor)
                cursor.execute(
                    upsert_customers_sql(source=self.customers_name, pg=False),
                    [self.workspace_id, *[timezone.now()] * 2],
                )
                customers_created = self._count_customers(cursor) - customers_before
            customers_done = time.monotonic()
            totals = None
            if pg:
                inserted, returns, non_product, totals = self._insert_lines_pg(
                    cursor, import_id, probe, newest
                )
            else:
                cursor.execute(
                    insert_lines_sql(source=self.name, pg=False, on_conflict=True),
                    [import_id, self.workspace_id],
                )
                inserted = cursor.rowcount
                cursor.execute(
                    f"""
                    SELECT count(*), coalesce(sum(is_return), 0),
                           coalesce(sum(is_non_product), 0)
                    FROM {line_table} WHERE import_record_id = %s
                    """,  # noqa: S608
                    [import_id],
                )
                _, returns, non_product = cursor.fetchone()
        logger.info(
            "%s moved: customers %.2f s, lines %.2f s",
            self.name,
            customers_done - started,
            time.monotonic() - customers_done,
        )
        return MoveCounts(
            staged=self.rows,
            distinct=distinct,
            inserted=inserted,
            customers_created=customers_created,
            returns=returns,
            non_product=non_product,
            totals=totals,
        )

    def _probe_each_line(self, cursor) -> bool:
        """Whether to look each staged line up in the line table's primary key (a subquery
        per line: ``OFFSET 0`` keeps PostgreSQL from turning it into an anti join) rather
        than let the planner choose. For a day's file it looks the lines up itself; from
        about a month's, it hashes every stored line of every workspace: 1.9M staged lines
        against 19.4M stored took 20.9 s to hash and 7.7 s to look up (docs/scaling.md).
        The hash is cheaper only when the file is a large share of the table: PROBE_SHARE,
        against the table's planner estimate."""
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = %s::regclass",
            [TransactionLine._meta.db_table],
        )
        stored = cursor.fetchone()[0]  # -1 before the table's first ANALYZE
        return self.rows < PROBE_SHARE * stored

    def _newest_stored_time(self, cursor) -> int | None:
        """A bound of the workspace's stored lines' times, in microseconds since the epoch
        (None: no customer): its customers' last-seen times, which every import moves past
        each line it reads and a removal recomputes. The lines of a month's file dated
        after it need no lookup (docs/scaling.md)."""
        cursor.execute(
            f"""SELECT (EXTRACT(EPOCH FROM max(last_seen_at)) * 1000000)::bigint
            FROM {Customer._meta.db_table} WHERE workspace_id = %s""",  # noqa: S608 (ours)
            [self.workspace_id],
        )
        return cursor.fetchone()[0]

    def _count_customers(self, cursor) -> int:
        customer_table = Customer._meta.db_table
        cursor.execute(
            f"SELECT count(*) FROM {customer_table} WHERE workspace_id = %s",  # noqa: S608
            [self.workspace_id],
        )
        return cursor.fetchone()[0]

    def _upsert_customers_pg(self, cursor, *, with_ids: bool = False) -> int:
        """Upsert (in external id order, so concurrent imports lock rows in the same order)
        and return how many customers were new: xmax is 0 on a freshly inserted row."""
        now = timezone.now()
        upsert = upsert_customers_sql(source=self.customers_name, pg=True, with_ids=with_ids)
        sql = f"""WITH upserted AS ({upsert} RETURNING (xmax = 0) AS created)
            SELECT count(*) FILTER (WHERE created) FROM upserted"""  # noqa: S608 (ours)
        cursor.execute(sql, [self.workspace_id, now, now])
        return cursor.fetchone()[0]

    def _insert_lines_pg(
        self, cursor, import_id: int, probe: bool, newest: int | None
    ) -> tuple[int, int, int, StoredTotals]:
        """(inserted, returns, non_product, the inserted lines' totals) on PostgreSQL.

        A plain INSERT of the distinct new lines in key order: about 40% faster than
        ON CONFLICT DO NOTHING (which inserts speculatively, row by row), and the primary
        key's index fills in order. A concurrent import can still store one of these lines
        between our check and our insert; then the primary key refuses it and the savepoint
        lets the ON CONFLICT form do the work instead. The totals come from the inserted
        rows themselves: reading them back would scan every line of the workspace.
        """
        counted = """
            WITH inserted AS (
                {} RETURNING customer_id, invoice, timestamp, amount, is_return, is_non_product)
            SELECT count(*), count(*) FILTER (WHERE is_return),
                   count(*) FILTER (WHERE is_non_product),
                   min(timestamp), max(timestamp),
                   (SELECT count(*) FROM (SELECT DISTINCT customer_id FROM inserted) c),
                   (SELECT count(*) FROM (SELECT DISTINCT invoice FROM inserted) o),
                   sum(amount) FILTER (WHERE NOT is_return AND NOT is_non_product)
            FROM inserted
            """
        try:
            with transaction.atomic():
                insert = insert_lines_sql(source=self.name, pg=True, on_conflict=False, probe=probe)
                bound = [newest] if probe else []
                cursor.execute(counted.format(insert), [import_id, self.workspace_id, *bound])
                row = cursor.fetchone()
        except IntegrityError:
            logger.info("a line was stored concurrently; inserting with ON CONFLICT instead")
            insert = insert_lines_sql(source=self.name, pg=True, on_conflict=True)
            cursor.execute(counted.format(insert), [import_id, self.workspace_id])
            row = cursor.fetchone()
        inserted, returns, non_product, first, last, customers, orders, revenue = row
        return inserted, returns, non_product, StoredTotals(first, last, customers, orders, revenue)
