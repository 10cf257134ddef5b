"""The SQL that moves staged customers and lines into their tables (text only, no cursor).

StagingTable and BulkLoad execute it; the same statements serve PostgreSQL and SQLite, with
the differences (time columns, DISTINCT ON) switched by `pg`. Everything is written into
one workspace (a parameter): its customers are matched by customer id within it, and its
lines carry its id, the first column of the line table's key.
"""

from __future__ import annotations

from ..models import Customer, TransactionLine


def upsert_customers_sql(*, source: str, pg: bool, with_ids: bool = False) -> str:
    """Insert the customers staged in `source`, or widen the stored first/last purchase,
    move the last-seen time on and take the country of the latest line. SET sees the stored
    row's old values. Parameters: the workspace id, created_at, updated_at. with_ids: new
    customers take the staged id (BulkLoad numbers them)."""
    customer_table = Customer._meta.db_table
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
            ({"id, " if with_ids else ""}workspace_id, external_id, country,
             first_purchase_at, last_purchase_at, last_seen_at, created_at, updated_at)
        SELECT {"id, " if with_ids else ""}%s, customer_ext, country, {", ".join(times)},
               %s, %s
        FROM {source}
        WHERE true
        ORDER BY customer_ext
        ON CONFLICT (workspace_id, external_id) DO UPDATE SET
            first_purchase_at = {wider("first_purchase_at", "<")},
            last_purchase_at = {wider("last_purchase_at", ">")},
            country = CASE
                WHEN {stored}.last_seen_at IS NULL
                  OR excluded.last_seen_at >= {stored}.last_seen_at
                THEN excluded.country ELSE {stored}.country END,
            last_seen_at = {wider("last_seen_at", ">")},
            updated_at = excluded.updated_at
        """  # noqa: S608 (table names are ours; values are parameters)


def staged_time_sql(*, pg: bool) -> str:
    """A staged line's time (PostgreSQL stages microseconds since the epoch)."""
    # Exact: a float8 holds any microsecond count of the next 140 years exactly.
    return "to_timestamp(s.ts::float8 / 1000000)" if pg else "s.ts"


def _line_select(*, source: str, pg: bool) -> tuple[str, str, str]:
    """(column list, SELECT list, FROM clause) to insert the lines staged in `source`; the
    SELECT list has one parameter, the import id, and the FROM clause one, the workspace id
    (the workspace whose customers the lines join: the lines take its id from them)."""
    customer_table = Customer._meta.db_table
    columns = """
            (workspace_id, customer_id, invoice, product_code, description, quantity,
             unit_price, amount, timestamp, country, is_return, is_non_product,
             import_record_id, line_hash)"""
    values = f"""c.workspace_id, c.id, s.invoice, s.product_code, s.description, s.quantity,
               s.unit_price, s.amount, {staged_time_sql(pg=pg)}, s.country, s.is_return,
               s.is_non_product, %s, s.line_hash"""
    from_clause = f"""
        FROM {source} s
        JOIN {customer_table} c
          ON c.workspace_id = %s AND c.external_id = s.customer_ext"""
    return columns, values, from_clause


def insert_lines_sql(*, source: str, pg: bool, on_conflict: bool, probe: bool = False) -> str:
    """INSERT the lines staged in `source` with their customers' ids (parameters: the import
    id, the workspace id, and with `probe` a bound of the stored lines' times).

    on_conflict: ON CONFLICT DO NOTHING, row by row; otherwise a plain INSERT of the
    distinct lines not yet stored, in key order (PostgreSQL only). probe: each staged line
    is looked up in the primary key, instead of the anti join the planner prefers, which
    hashes every stored line (see StagingTable._probe_each_line), except a line dated after
    the bound (microseconds since the epoch; null: no bound): a stored copy would have its
    time. Were the bound wrong, the primary key would still refuse a copy (the caller then
    inserts with ON CONFLICT).
    """
    line_table = TransactionLine._meta.db_table
    ts = staged_time_sql(pg=pg)
    columns, values, from_clause = _line_select(source=source, pg=pg)
    if on_conflict:
        return f"""
            INSERT INTO {line_table} {columns}
            SELECT {values} {from_clause}
            WHERE true
            ON CONFLICT (workspace_id, customer_id, timestamp, line_hash) DO NOTHING
            """
    # DISTINCT ON the whole key, in key order: the same as on line_hash alone (a hash
    # fixes customer and time, and every line here is of one workspace), and the primary
    # key's index fills in order.
    key = f"c.workspace_id, c.id, {ts}, s.line_hash"
    return f"""
        INSERT INTO {line_table} {columns}
        SELECT DISTINCT ON ({key}) {values} {from_clause}
        WHERE {"s.ts > %s OR " if probe else ""}NOT EXISTS (
            SELECT 1 FROM {line_table} t
            WHERE t.workspace_id = c.workspace_id AND t.customer_id = c.id
              AND t.timestamp = {ts} AND t.line_hash = s.line_hash{" OFFSET 0" if probe else ""})
        ORDER BY {key}
        """  # noqa: S608 (table names are ours; values are parameters)
