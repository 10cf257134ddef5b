"""Move normalised lines into the database in set-based SQL.

Lines go first into a temporary staging table (PostgreSQL: COPY; SQLite: executemany),
outside the final transaction so progress stays visible; per-customer first/last purchase
and latest country are aggregated in pandas as chunks pass (bounded by the number of
customers). prepare() does the CPU work of a chunk (the line hashes, CSV text or row tuples,
the customer summary) without touching the database, so a reader thread can run it while
write() sends the previous chunk. Then, in one transaction that first takes the line table's
SHARE ROW EXCLUSIVE lock (one import moves at a time; readers go on), customers are upserted
and new lines inserted, so a line already stored (re-import, overlapping file, duplicate
within the file) is not stored twice: on PostgreSQL with one INSERT ... SELECT DISTINCT ON
... WHERE NOT EXISTS in the order of the line table's one index, its primary key
(customer, timestamp, line_hash), so that index fills in order, falling back to ON CONFLICT
DO NOTHING if a concurrent import stored one of the lines first.

Into an empty line table (the first, usually largest, import), BulkLoad does without the
staging table on PostgreSQL: inside the import's one transaction it drops the table's
indexes, COPYs the lines straight into it as the file is read (the reader thread drops
duplicates and numbers new customers itself), then builds the indexes again, as
pg_restore does. Reading then overlaps the final write: the full Online Retail import took
1.4-1.5 s instead of 2.3 s (bench_import medians on a quiet box; raw COPY of the file 0.5 s).
Its COPY is binary (pgcopy): the server no longer parses numerics and timestamps from text,
which took the import from 34% to 41% of the raw COPY's speed (2.76 s to 2.27 s beside
0.94 s, on a slower day); the reader's three threads (services._Reader) took it to 45%.
Then less CPU per line, with both cores saturated (the server's COPY on one, the reader's
threads on the other): dates, customer ids and the hash's numbers worked out once per
distinct value, MD5 by DuckDB without the GIL, gzip inflated by ISA-L, no trimming of
columns that need none, progress written without waiting: 52-60% (2.0-2.1 s beside
1.1-1.2 s, five bench_import runs). One index to build at the end instead of two (the line
table's composite primary key replaced the id and its index): 1.95 s against 2.21 s, paired
runs in one session. Measured and not kept: keeping the primary key, or both
indexes, during the COPY (rows sorted by the unique key within each chunk or not); 4 MB
and 2 MB blocks; smaller first chunks to start the COPY sooner (0.15 s slower); parsing and
preparing in one thread instead of two (no change); DuckDB joining the hash's fields.

Also measured and not kept: PostgreSQL computing the MD5 itself (a generated column of the
staging table) cost the COPY as much as hashlib cost the reader, about 0.9 s, and the COPY
is then the slower side.

Inserting each chunk as it is read, inside the final transaction, was tried: reading then
overlaps writing, but chunks interleave in the index and the whole import took 5.2-5.4 s
against 4.2-5.1 s for the single ordered insert (Online Retail, PostgreSQL 15).
"""

from __future__ import annotations

import contextlib
import io
import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from transaction_files.normalise import hashes_hex, line_hashes

from ..models import Customer, TransactionLine
from . import pgcopy

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
# PostgreSQL bulk loads the first import into an empty line table (BulkLoad); off, every
# import is staged (the tests compare the two).
BULK_LOAD_EMPTY_TABLE = True
INDEX_BUILD_MEM = "256MB"
BULK_LOAD_LOCK_TIMEOUT = "2s"


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


def _combine(parts: list[pd.DataFrame]) -> pd.DataFrame:
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
    def __init__(self, import_id: int):
        self.import_id = import_id
        self.name = f"import_staging_{import_id}"
        self.customers_name = f"{self.name}_customers"
        self.vendor = connection.vendor
        self.rows = 0
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
        return PreparedChunk(
            rows=len(lines),
            payload=self._lines_payload(lines),
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
            self._customer_parts = [_combine(self._customer_parts)]

    def _lines_payload(self, lines: pd.DataFrame):
        frame = lines[[c for c, _ in LINE_STAGE_COLUMNS if c != "line_hash"]].copy()
        if self.vendor == "postgresql":
            # COPY reads a bigint about three times faster than a timestamp's text (0.1 s
            # against 0.35 s for Online Retail), and pyarrow writes it faster too.
            utc = frame["ts"].dt.tz_convert("UTC").dt.tz_localize(None)
            frame["ts"] = utc.dt.as_unit("us").astype("int64")
        frame["line_hash"] = hashes_hex(line_hashes(lines)).to_numpy(zero_copy_only=False)
        return self._payload(frame)

    def _payload(self, frame: pd.DataFrame):
        """CSV bytes for COPY (PostgreSQL) or row tuples for executemany (SQLite)."""
        if self.vendor == "postgresql":
            # Times go as naive UTC (the SQL adds AT TIME ZONE 'UTC'): pyarrow writes a
            # time-zone-aware column about 3x slower (1.1 s of 1.7 s for Online Retail).
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
        customer_table = Customer._meta.db_table
        line_table = TransactionLine._meta.db_table
        pg = self.vendor == "postgresql"
        started = time.monotonic()
        if self._customer_parts:
            customers = _combine(self._customer_parts)
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
            cursor.execute(
                f"SELECT count(*) FROM (SELECT DISTINCT line_hash FROM {self.name}) d"  # noqa: S608
            )
            distinct = cursor.fetchone()[0]
            if pg:
                customers_created = self._upsert_customers_pg(cursor)
            else:
                cursor.execute(f"SELECT count(*) FROM {customer_table}")  # noqa: S608
                customers_before = cursor.fetchone()[0]
                cursor.execute(self._upsert_customers_sql(), [timezone.now()] * 2)
                cursor.execute(f"SELECT count(*) FROM {customer_table}")  # noqa: S608
                customers_created = cursor.fetchone()[0] - customers_before
            customers_done = time.monotonic()
            if pg:
                inserted, returns, non_product = self._insert_lines_pg(cursor, import_id)
            else:
                cursor.execute(self._insert_lines_sql(on_conflict=True), [import_id])
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
        )

    def _upsert_customers_sql(self, *, with_ids: bool = False) -> str:
        """Insert the staged customers, or widen the stored first/last purchase, move the
        last-seen time on and take the country of the latest line. SET sees the stored row's
        old values. Parameters: created_at, updated_at. with_ids: new customers take the
        staged id (BulkLoad numbers them)."""
        customer_table = Customer._meta.db_table
        pg = self.vendor == "postgresql"
        times = ["first_ts", "last_ts", "seen_ts"]
        if pg:
            times = [f"({t} AT TIME ZONE 'UTC')" for t in times]
        stored = customer_table

        def wider(column: str, newer: str) -> str:
            # NULL on either side keeps the other (SQLite's MIN/MAX would give NULL).
            return f"""CASE
                    WHEN excluded.{column} IS NULL THEN {stored}.{column}
                    WHEN {stored}.{column} IS NULL
                      OR excluded.{column} {newer} {stored}.{column} THEN excluded.{column}
                    ELSE {stored}.{column} END"""

        return f"""
            INSERT INTO {customer_table}
                ({"id, " if with_ids else ""}external_id, country, first_purchase_at,
                 last_purchase_at, last_seen_at, created_at, updated_at)
            SELECT {"id, " if with_ids else ""}customer_ext, country, {", ".join(times)}, %s, %s
            FROM {self.customers_name}
            WHERE true
            ORDER BY customer_ext
            ON CONFLICT (external_id) DO UPDATE SET
                first_purchase_at = {wider("first_purchase_at", "<")},
                last_purchase_at = {wider("last_purchase_at", ">")},
                country = CASE
                    WHEN {stored}.last_seen_at IS NULL
                      OR excluded.last_seen_at >= {stored}.last_seen_at
                    THEN excluded.country ELSE {stored}.country END,
                last_seen_at = {wider("last_seen_at", ">")},
                updated_at = excluded.updated_at
            """  # noqa: S608 (table names are ours; values are parameters)

    def _upsert_customers_pg(self, cursor, *, with_ids: bool = False) -> int:
        """Upsert (in external id order, so concurrent imports lock rows in the same order)
        and return how many customers were new: xmax is 0 on a freshly inserted row."""
        now = timezone.now()
        upsert = self._upsert_customers_sql(with_ids=with_ids)
        sql = f"""WITH upserted AS ({upsert} RETURNING (xmax = 0) AS created)
            SELECT count(*) FILTER (WHERE created) FROM upserted"""  # noqa: S608 (ours)
        cursor.execute(sql, [now, now])
        return cursor.fetchone()[0]

    def _ts_sql(self) -> str:
        # Exact: a float8 holds any microsecond count of the next 140 years exactly.
        return "to_timestamp(s.ts::float8 / 1000000)" if self.vendor == "postgresql" else "s.ts"

    def _line_select(self) -> tuple[str, str, str]:
        """(column list, SELECT list, FROM clause) to insert the staged lines; the SELECT
        list has one parameter, the import id."""
        customer_table = Customer._meta.db_table
        columns = """
                (customer_id, invoice, product_code, description, quantity, unit_price,
                 amount, timestamp, country, is_return, is_non_product, import_record_id,
                 line_hash)"""
        values = f"""c.id, s.invoice, s.product_code, s.description, s.quantity,
                   s.unit_price, s.amount, {self._ts_sql()}, s.country, s.is_return,
                   s.is_non_product, %s, s.line_hash"""
        source = f"""
            FROM {self.name} s
            JOIN {customer_table} c ON c.external_id = s.customer_ext"""
        return columns, values, source

    def _insert_lines_sql(self, *, on_conflict: bool) -> str:
        """INSERT the staged lines with their customers' ids (parameter: the import id).

        on_conflict: ON CONFLICT DO NOTHING, row by row; otherwise a plain INSERT of the
        distinct lines not yet stored, in key order (PostgreSQL only).
        """
        line_table = TransactionLine._meta.db_table
        ts = self._ts_sql()
        columns, values, source = self._line_select()
        if on_conflict:
            return f"""
                INSERT INTO {line_table} {columns}
                SELECT {values} {source}
                WHERE true
                ON CONFLICT (customer_id, timestamp, line_hash) DO NOTHING
                """
        # DISTINCT ON the whole key, in key order: the same as on line_hash alone (a hash
        # fixes customer and time), and the primary key's index fills in order.
        key = f"c.id, {ts}, s.line_hash"
        return f"""
            INSERT INTO {line_table} {columns}
            SELECT DISTINCT ON ({key}) {values} {source}
            WHERE NOT EXISTS (
                SELECT 1 FROM {line_table} t
                WHERE t.customer_id = c.id AND t.timestamp = {ts} AND t.line_hash = s.line_hash)
            ORDER BY {key}
            """  # noqa: S608 (table names are ours; values are parameters)

    def _insert_lines_pg(self, cursor, import_id: int) -> tuple[int, int, int]:
        """(inserted, returns, non_product) on PostgreSQL.

        A plain INSERT of the distinct new lines in key order: about 40% faster than
        ON CONFLICT DO NOTHING (which inserts speculatively, row by row), and the primary
        key's index fills in order. A concurrent import can still store one of these lines
        between our check and our insert; then the primary key refuses it and the savepoint
        lets the ON CONFLICT form do the work instead.
        """
        counted = """
            WITH inserted AS ({} RETURNING is_return, is_non_product)
            SELECT count(*), count(*) FILTER (WHERE is_return),
                   count(*) FILTER (WHERE is_non_product)
            FROM inserted
            """
        try:
            with transaction.atomic():
                cursor.execute(
                    counted.format(self._insert_lines_sql(on_conflict=False)), [import_id]
                )
                return cursor.fetchone()
        except IntegrityError:
            logger.info("a line was stored concurrently; inserting with ON CONFLICT instead")
        cursor.execute(counted.format(self._insert_lines_sql(on_conflict=True)), [import_id])
        return cursor.fetchone()


class SeenHashes:
    """The line hashes seen so far, 16 bytes each in two sorted arrays (a Python set of the
    hex strings takes about 100 bytes a line: 0.5 GB for a file ten times Online Retail)."""

    def __init__(self):
        self._hi = np.empty(0, dtype=np.uint64)
        self._lo = np.empty(0, dtype=np.uint64)

    def __len__(self) -> int:
        return len(self._hi)

    def first_seen(self, digests: np.ndarray) -> np.ndarray:
        """Mask of the hashes (an (n, 16) uint8 array, as line_hashes gives) seen here for
        the first time: not seen in an earlier call, nor earlier in this one."""
        halves = np.ascontiguousarray(digests, dtype=np.uint8).view(">u8").reshape(-1, 2)
        hi, lo = halves[:, 0].astype(np.uint64), halves[:, 1].astype(np.uint64)
        # Sorted by the first half (numpy's unstable sort of 64-bit keys is five times as fast
        # as sorting by both): repeats sit side by side, and the stored arrays are searched
        # in order. Distinct hashes sharing their first half (about one pair in 10^7 at 5 M
        # lines) may then sit apart: sort by both halves instead.
        order = np.argsort(hi)
        hi_sorted, lo_sorted = hi[order], lo[order]
        repeat = hi_sorted[1:] == hi_sorted[:-1]
        if (repeat & (lo_sorted[1:] != lo_sorted[:-1])).any():
            order = np.lexsort((lo, hi))
            hi_sorted, lo_sorted = hi[order], lo[order]
            repeat = (hi_sorted[1:] == hi_sorted[:-1]) & (lo_sorted[1:] == lo_sorted[:-1])
        starts = np.flatnonzero(np.concatenate(([True], ~repeat)))
        firsts = np.minimum.reduceat(order, starts)  # each hash's first line
        hi, lo = hi_sorted[starts], lo_sorted[starts]
        new = np.ones(len(hi), dtype=bool)
        pos = np.searchsorted(self._hi, hi)
        if len(self._hi):
            at = np.minimum(pos, len(self._hi) - 1)
            same_hi = self._hi[at] == hi
            seen = same_hi & (self._lo[at] == lo)
            # Stored hashes sharing their first 8 bytes sit side by side: look at each.
            for i in np.flatnonzero(same_hi & ~seen):
                end = np.searchsorted(self._hi, hi[i], side="right")
                seen[i] = bool((self._lo[pos[i] : end] == lo[i]).any())
            new &= ~seen
        self._hi = np.insert(self._hi, pos[new], hi[new])
        self._lo = np.insert(self._lo, pos[new], lo[new])
        first = np.zeros(len(digests), dtype=bool)
        first[firsts[new]] = True
        return first


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


@contextlib.contextmanager
def bulk_load(import_id: int):
    """A BulkLoad inside a transaction that stays open until the block ends (it commits if
    the block succeeds, and a failure rolls everything back, the dropped indexes included),
    or None outside any transaction: not PostgreSQL, lines already stored, or the line table
    in use. Progress written meanwhile on this connection stays invisible
    until the commit."""
    if (
        connection.vendor != "postgresql"
        or not BULK_LOAD_EMPTY_TABLE
        or TransactionLine.objects.exists()
    ):
        yield None
        return
    with transaction.atomic():
        loader = BulkLoad(import_id)
        if loader.start():
            yield loader
            return
    yield None


class BulkLoad(StagingTable):
    """The first lines into an empty line table, on PostgreSQL (use bulk_load()).

    As pg_restore does: the line table's indexes are dropped, the lines COPYed straight into
    it as the file is read, and the indexes built again from the whole, about twice as fast
    as keeping them up to date row by row, and the reading overlaps the writing. With no
    staging table to deduplicate and join in SQL, prepare() (in the reader thread) drops
    duplicate lines (SeenHashes) and numbers new customers itself; the locks taken in
    start() keep anyone else from inserting lines or customers until commit. Customers are
    upserted at the end from the summaries, as StagingTable does.
    """

    def _tables(self) -> list[tuple[str, list]]:
        return [(self.customers_name, CUSTOMER_COLUMNS + [("id", "bigint")])]

    @property
    def _target(self) -> str:
        return f"{TransactionLine._meta.db_table} ({', '.join(LINE_COPY_COLUMNS)})"

    def start(self) -> bool:
        """Lock the line and customer tables, check that no line is stored, and drop the
        line table's indexes; False (nothing changed) if there are lines or the table is in
        use. Call inside transaction.atomic()."""
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
            cursor.execute(f"SELECT external_id, id FROM {customer_table}")  # noqa: S608
            self.customer_ids: dict[str, int] = dict(cursor.fetchall())
            self.last_customer_id = self._last_id(cursor, customer_table)
            self.indexes = self._drop_indexes(cursor)
        self.seen = SeenHashes()
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
        keep = self.seen.first_seen(hashes)
        kept = lines[keep]
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

    def move(self, *, import_id: int) -> MoveCounts:
        """Upsert the customers, move the id sequences past the ids handed out and build the
        indexes again; call inside the transaction that start() ran in."""
        customer_table = Customer._meta.db_table
        started = time.monotonic()
        customers_created = 0
        with connection.cursor() as cursor:
            if self._customer_parts:  # none if every row was skipped or rejected
                customers = _combine(self._customer_parts)
                customers["id"] = customers["customer_ext"].map(self.customer_ids)
                columns = [c for c, _ in CUSTOMER_COLUMNS] + ["id"]
                self._send(self.customers_name, self._payload(customers[columns]))
                customers_created = self._upsert_customers_pg(cursor, with_ids=True)
            if self.last_customer_id:  # 0: no id given out; a sequence cannot be set to 0
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
                    [customer_table, self.last_customer_id],
                )
            customers_done = time.monotonic()
            self._restore_indexes(cursor)
        logger.info(
            "%s moved (bulk load): customers %.2f s, indexes built %.2f s",
            self.name,
            customers_done - started,
            time.monotonic() - customers_done,
        )
        return MoveCounts(
            staged=self.rows,
            distinct=self.stored,
            inserted=self.stored,
            customers_created=customers_created,
            returns=self.returns,
            non_product=self.non_product,
        )
