"""Move normalised lines into the database in set-based SQL.

Lines go first into a temporary staging table (PostgreSQL: COPY; SQLite: executemany),
outside the final transaction so progress stays visible. Then, in one transaction, customers
are upserted and lines inserted with INSERT ... SELECT ... ON CONFLICT (line_hash) DO
NOTHING, so a line already stored (re-import, overlapping file, duplicate within the file)
is not stored twice.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from django.db import connection, transaction
from django.utils import timezone

from ..models import Customer, TransactionLine

logger = logging.getLogger(__name__)

STAGE_COLUMNS = [
    ("line_no", "bigint"),
    ("customer_ext", "text"),
    ("invoice", "text"),
    ("product_code", "text"),
    ("description", "text"),
    ("quantity", "numeric"),
    ("unit_price", "numeric"),
    ("amount", "numeric"),
    ("ts", "timestamptz"),
    ("country", "text"),
    ("is_return", "boolean"),
    ("is_non_product", "boolean"),
    ("line_hash", "uuid"),
]


@dataclass
class MoveCounts:
    staged: int
    distinct: int
    inserted: int
    customers_created: int


class StagingTable:
    def __init__(self, import_id: int):
        self.name = f"import_staging_{import_id}"
        self.vendor = connection.vendor
        self.rows = 0
        columns = ", ".join(
            f"{name} {kind if self.vendor == 'postgresql' else ''}".strip()
            for name, kind in STAGE_COLUMNS
        )
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.name}")
            cursor.execute(f"CREATE TEMPORARY TABLE {self.name} ({columns})")

    def add(self, lines: pd.DataFrame) -> None:
        if lines.empty:
            return
        with transaction.atomic(), connection.cursor() as cursor:
            if self.vendor == "postgresql":
                self._copy(cursor, lines)
            else:
                self._insert(cursor, lines)
        self.rows += len(lines)

    def _copy(self, cursor, lines: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(lines[[c for c, _ in STAGE_COLUMNS]], preserve_index=False)
        buffer = io.BytesIO()
        pacsv.write_csv(table, buffer, write_options=pacsv.WriteOptions(include_header=False))
        buffer.seek(0)
        raw = cursor.cursor  # psycopg2 cursor under Django's wrapper
        raw.copy_expert(f"COPY {self.name} FROM STDIN WITH (FORMAT csv)", buffer)

    def _insert(self, cursor, lines: pd.DataFrame) -> None:
        frame = lines[[c for c, _ in STAGE_COLUMNS]].copy()
        # Django keeps SQLite datetimes as UTC text without offset.
        frame["ts"] = frame["ts"].dt.strftime("%Y-%m-%d %H:%M:%S")
        frame["unit_price"] = (
            frame["unit_price"].astype(object).where(frame["unit_price"].notna(), None)
        )
        rows = list(frame.itertuples(index=False, name=None))
        placeholders = ", ".join(["%s"] * len(STAGE_COLUMNS))
        cursor.executemany(f"INSERT INTO {self.name} VALUES ({placeholders})", rows)  # noqa: S608 (our table name)

    def drop(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.name}")

    def move(self, *, import_id: int) -> MoveCounts:
        """Upsert customers and insert new lines; call inside transaction.atomic()."""
        customer_table = Customer._meta.db_table
        line_table = TransactionLine._meta.db_table
        pg = self.vendor == "postgresql"
        least, greatest = ("LEAST", "GREATEST") if pg else ("MIN", "MAX")
        now = timezone.now()
        started = time.monotonic()
        timings = {}
        with connection.cursor() as cursor:
            if pg:
                # A temporary table has no statistics until analysed; without them the
                # planner joins row by row.
                cursor.execute(f"ANALYZE {self.name}")
            cursor.execute(f"SELECT count(*), count(DISTINCT line_hash) FROM {self.name}")  # noqa: S608
            staged, distinct = cursor.fetchone()
            cursor.execute(f"SELECT count(*) FROM {customer_table}")  # noqa: S608
            customers_before = cursor.fetchone()[0]
            cursor.execute(
                f"""
                INSERT INTO {customer_table}
                    (external_id, country, first_purchase_at, last_purchase_at,
                     created_at, updated_at)
                SELECT agg.customer_ext, latest.country, agg.first_ts, agg.last_ts, %s, %s
                FROM (
                    SELECT customer_ext, min(ts) AS first_ts, max(ts) AS last_ts
                    FROM {self.name} GROUP BY customer_ext
                ) agg
                JOIN (
                    SELECT customer_ext, country FROM (
                        SELECT customer_ext, country, row_number() OVER (
                            PARTITION BY customer_ext ORDER BY ts DESC, line_no DESC
                        ) AS rn
                        FROM {self.name}
                    ) ranked WHERE rn = 1
                ) latest ON latest.customer_ext = agg.customer_ext
                WHERE true
                ON CONFLICT (external_id) DO UPDATE SET
                    first_purchase_at = {least}(
                        COALESCE({customer_table}.first_purchase_at,
                                 excluded.first_purchase_at),
                        excluded.first_purchase_at),
                    last_purchase_at = {greatest}(
                        COALESCE({customer_table}.last_purchase_at, excluded.last_purchase_at),
                        excluded.last_purchase_at),
                    country = CASE
                        WHEN {customer_table}.last_purchase_at IS NULL
                          OR excluded.last_purchase_at >= {customer_table}.last_purchase_at
                        THEN excluded.country ELSE {customer_table}.country END,
                    updated_at = excluded.updated_at
                """,  # noqa: S608 (table names are ours; values are parameters)
                [now, now],
            )
            timings["customers"] = time.monotonic()
            cursor.execute(f"SELECT count(*) FROM {customer_table}")  # noqa: S608
            customers_after = cursor.fetchone()[0]
            cursor.execute(
                f"""
                INSERT INTO {line_table}
                    (customer_id, invoice, product_code, description, quantity, unit_price,
                     amount, timestamp, country, is_return, is_non_product, import_record_id,
                     line_hash)
                SELECT c.id, s.invoice, s.product_code, s.description, s.quantity,
                       s.unit_price, s.amount, s.ts, s.country, s.is_return,
                       s.is_non_product, %s, s.line_hash
                FROM {self.name} s
                JOIN {customer_table} c ON c.external_id = s.customer_ext
                WHERE true
                ON CONFLICT (line_hash) DO NOTHING
                """,  # noqa: S608
                [import_id],
            )
            inserted = cursor.rowcount
            timings["lines"] = time.monotonic()
        logger.info(
            "staging %s moved: customers %.2f s, lines %.2f s",
            self.name,
            timings["customers"] - started,
            timings["lines"] - timings["customers"],
        )
        return MoveCounts(
            staged=staged,
            distinct=distinct,
            inserted=inserted,
            customers_created=customers_after - customers_before,
        )
