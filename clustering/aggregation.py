"""Per-customer aggregation in the database: the engine's aggregate table from one GROUP BY.

Transactions never travel to Python one row at a time: PostgreSQL (or SQLite) computes one
row per customer, which pandas receives as columns. The columns and their definitions are
the engine's contract (clustering/engine/types.py, AGGREGATE_COLUMNS).

A run reads only plausible lines: the import's bounds (transaction_files.plausible, from the
settings) with the run's own time in place of the upload's, so a line stored before the
rules existed (dated 9999 or 1677, an amount of 9e13) is left out and counted in the run's
notes instead of failing it (docs/decisions/plausible-stored-lines.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from django.conf import settings
from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection, transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Max, Min, Q, Sum
from django.db.models.functions import Abs, TruncDate
from django.utils import timezone

from customers.importing.bounds import import_bounds
from customers.models import Customer, TransactionLine

from .engine.features import default_reference_date
from .engine.types import AGGREGATE_COLUMNS, Calibration
from .engine.value import calibration_end
from .shared_snapshot import exported_snapshot, in_snapshot


@dataclass(frozen=True)
class CustomerAggregates:
    table: pd.DataFrame  # the engine's AGGREGATE_COLUMNS
    reference_date: pd.Timestamp  # naive, in the shop's time zone
    window_start: pd.Timestamp | None
    summary: dict  # what was read, for the run report
    fingerprint: str
    pk_by_customer_id: pd.Series  # the shop's customer id -> Customer primary key
    # the same table as of the holdout's first day, for the value stage's check (or None)
    calibration: Calibration | None = None
    calibration_seconds: float = 0.0  # the time its GROUP BY took (part of the value stage)
    # what the run's notes say before the engine's: the implausible lines left out
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Span:
    """The plausible product lines' first and last timestamps, and the implausible product
    lines left out, by reason."""

    first: datetime | None
    last: datetime | None
    too_early: int = 0
    too_late: int = 0
    out_of_bounds: int = 0  # dated plausibly, but a quantity, unit price or amount beyond
    first_purchase: datetime | None = None  # the first plausible line that is not a return

    @property
    def left_out(self) -> int:
        return self.too_early + self.too_late + self.out_of_bounds


def read_span(workspace, now: datetime | None = None) -> Span:
    """The span a run reads (plausible lines as of ``now``) and what it leaves out."""
    plausible, dated, sized = _plausible(now)
    product = _lines(workspace, plausible=False).filter(is_non_product=False)
    # One scan, grouped by the plausibility test: the test is computed once a line, where
    # four FILTER clauses computed it four times (the span took 9.5 s at 1M, grouped 4.7 s).
    # Lines whose test is null (none: the columns it reads are required) count as neither.
    groups = {
        row.pop("ok"): row
        for row in product.annotate(ok=ExpressionWrapper(plausible, output_field=BooleanField()))
        .values("ok")
        .annotate(
            first=Min("timestamp"),
            last=Max("timestamp"),
            first_purchase=Min("timestamp", filter=Q(is_return=False)),
            n=Count("pk"),
        )
        .order_by()
    }
    kept = groups.get(True, {"first": None, "last": None, "first_purchase": None})
    span = {key: kept[key] for key in ("first", "last", "first_purchase")}
    span["implausible"] = groups.get(False, {}).get("n", 0)
    if not span.pop("implausible"):
        return Span(**span)
    left_out = product.exclude(plausible).aggregate(
        too_early=Count("pk", filter=Q(timestamp__lt=dated[0])),
        too_late=Count("pk", filter=Q(timestamp__gt=dated[1])),
        out_of_bounds=Count("pk", filter=Q(timestamp__range=dated) & ~sized),
    )
    return Span(**span, **left_out)


def _plausible(now: datetime | None = None) -> tuple[Q, tuple[datetime, datetime], Q]:
    """(plausible, (earliest, latest), plausible numbers): the import's bounds for stored
    lines. The future limit is ``now`` (the run's time) plus the import's tolerance: a line
    the import accepted was dated before its upload, which is before now."""
    bounds = import_bounds()
    zone = timezone.get_current_timezone()
    earliest = timezone.make_aware(bounds.earliest().to_pydatetime(), zone)
    latest = timezone.make_aware(
        bounds.latest(now, timezone.get_current_timezone_name()).to_pydatetime(), zone
    )

    def within(name: str, maximum: float) -> Q:
        limit = Decimal(repr(maximum))
        return Q(**{f"{name}__range": (-limit, limit)})

    sized = (
        within("quantity", bounds.max_quantity)
        & within("amount", bounds.max_amount)
        & (Q(unit_price__isnull=True) | within("unit_price", bounds.max_unit_price))
    )
    return Q(timestamp__range=(earliest, latest)) & sized, (earliest, latest), sized


def _lines(workspace, *, plausible: bool = True, now: datetime | None = None):
    """The workspace's lines, filtered on the column that leads the primary key (no join);
    only the plausible ones unless ``plausible`` is False."""
    lines = TransactionLine.objects.in_workspace(workspace)
    return lines.filter(_plausible(now)[0]) if plausible else lines


def left_out_note(workspace, span: Span, now: datetime | None = None) -> str | None:
    """The run's note on the implausible lines it left out, naming a few of their customers
    (the shop's ids) so that a manager can remove the lines from their lines pages."""
    if not span.left_out:
        return None
    bounds = import_bounds()
    reasons = [
        (span.too_early, f"dated before {bounds.earliest_year}"),
        (span.too_late, "dated after the run's time plus the import's tolerance"),
        (span.out_of_bounds, "with a quantity, unit price or amount beyond the import's bounds"),
    ]
    why = "; ".join(f"{n:,} {text}" for n, text in reasons if n)
    customers = list(
        _lines(workspace, plausible=False)
        .filter(is_non_product=False)
        .exclude(_plausible(now)[0])
        .values_list("customer__external_id", flat=True)
        .order_by("customer__external_id")
        .distinct()[: NAMED_CUSTOMERS + 1]
    )
    named = ", ".join(customers[:NAMED_CUSTOMERS]) + (
        ", ..." if len(customers) > NAMED_CUSTOMERS else ""
    )
    lines = "line" if span.left_out == 1 else "lines"
    return (
        f"{span.left_out:,} implausible {lines} left out (stored before the import checked "
        f"dates and amounts): {why}. Customers {named}: their lines pages let a manager "
        "remove them."
    )


NAMED_CUSTOMERS = 5


class LocalDate(TruncDate):
    """TruncDate (the date in the current time zone: the shop's) from fixed UTC offsets.

    Between time-zone transitions the UTC offset is constant, so with the transitions of the
    data's span (``start``..``end``) a fixed offset per period gives the same dates.
    SQLite: Django's backend converts each row's time zone in a Python function, seconds on
    a shop the size of Online Retail (docs/performance.md). PostgreSQL: ``AT TIME ZONE`` with
    a named zone looks the rules up for every line, 1.4 s of a 1M run's 20 s GROUP BY part
    (docs/scaling.md). Other databases use TruncDate as is.
    """

    def __init__(self, expression, *, start: datetime, end: datetime, **extra):
        super().__init__(expression, **extra)
        self.start, self.end = start, end

    def as_sqlite(self, compiler, connection, **extra_context):
        # Stored SQLite datetimes are UTC text, "YYYY-MM-DD HH:MM:SS[.ffffff]".
        return self._by_period(
            compiler, "date({}, %s)", lambda until: until.strftime("%Y-%m-%d %H:%M:%S")
        )

    def as_postgresql(self, compiler, connection, **extra_context):
        return self._by_period(
            compiler,
            "(({} + %s::interval) AT TIME ZONE 'UTC')::date",
            lambda until: until.replace(tzinfo=UTC),
        )

    def _by_period(self, compiler, day: str, until_param) -> tuple[str, tuple]:
        """The date with each period's offset: ``day`` is the backend's date of the column
        shifted by an offset parameter, ``until_param`` its form of a period's end. One
        period (no clock change in the span) is the expression alone: a CASE needs a WHEN."""
        column, params = compiler.compile(self.lhs)
        periods = utc_offset_periods(ZoneInfo(self.get_tzname()), self.start, self.end)
        day = day.format(column)
        whens, case_params = "", []
        for until, offset in periods[:-1]:
            whens += f" WHEN {column} < %s THEN {day}"
            case_params += [*params, until_param(until), *params, offset]
        sql = f"CASE{whens} ELSE {day} END" if whens else day
        return sql, (*case_params, *params, periods[-1][1])


def utc_offset_periods(tz: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, str]]:
    """[(until, offset), ...]: the zone's UTC offset (as an SQLite date() modifier) up to
    each transition inside start..end, in UTC; the last period's ``until`` is ``end``."""
    start = start.astimezone(UTC).replace(tzinfo=None)
    end = end.astimezone(UTC).replace(tzinfo=None)

    def offset(at: datetime) -> timedelta:
        return at.replace(tzinfo=UTC).astimezone(tz).utcoffset()

    periods = []
    day = start
    while day < end:
        following = min(day + timedelta(days=1), end)
        if offset(following) != offset(day):
            low, high = day, following  # offset(low) != offset(high): bisect to the minute
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if offset(middle) == offset(low) else (low, middle)
            high = high.replace(second=0, microsecond=0)
            periods.append((high, offset(day)))
        day = following
    periods.append((end, offset(end)))
    return [(until, f"{int(o.total_seconds()):+d} seconds") for until, o in periods]


def _aware(ts: pd.Timestamp) -> datetime:
    return timezone.make_aware(ts.to_pydatetime(), timezone.get_current_timezone())


def _naive(value: datetime | None) -> pd.Timestamp | None:
    if value is None:
        return None
    return pd.Timestamp(timezone.make_naive(value, timezone.get_current_timezone()))


@contextlib.contextmanager
def consistent_snapshot() -> Iterator[None]:
    """Every read inside sees the same committed data, even while an import commits.

    PostgreSQL: a read-only REPEATABLE READ transaction (one snapshot for all statements).
    SQLite: writers are serialised and each import is one transaction; the statements here
    run back to back, so a commit between them can only add customers the lines query did
    not see, which the join ignores.
    """
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
    else:
        yield


def customer_aggregates(
    *,
    workspace,
    reference_date: pd.Timestamp | None = None,
    lookback_days: int | None = None,
    holdout_share: float | None = None,
) -> CustomerAggregates:
    """The workspace's aggregate table as of ``reference_date`` (default: the day after its
    last line);
    with ``holdout_share``, also the table as of the holdout's first day (the last share of
    the days), read in the same snapshot.

    Days are the shop's (its time zone is the current one while reading): a purchase at
    08:00 in Tokyo is on that day, as the shop's pages show it, whatever the site's zone."""
    with timezone.override(ZoneInfo(workspace.time_zone)), consistent_snapshot():
        return _customer_aggregates(workspace, reference_date, lookback_days, holdout_share)


def _customer_aggregates(
    workspace,
    reference_date: pd.Timestamp | None,
    lookback_days: int | None,
    holdout_share: float | None,
) -> CustomerAggregates:
    now = timezone.now()  # the future limit of the lines read (one for every query below)
    # A big workspace is read in ranges of customers on as many connections, one snapshot.
    ranges = _customer_ranges(workspace)
    snapshot = exported_snapshot() if len(ranges) > 1 else None
    # The span is one statement: without DISTINCT aggregates PostgreSQL runs it in parallel
    # itself (6.4 s at 1M, against 7.3 s on the parts' connections).
    span = read_span(workspace, now)
    first, last = span.first, span.last
    if last is None:
        raise LookupError("There are no transactions yet: import a file first.")
    if reference_date is None:
        reference_date = default_reference_date(_naive(last))
    reference_date = pd.Timestamp(reference_date)
    window_start = (
        reference_date - pd.Timedelta(days=lookback_days) if lookback_days is not None else None
    )

    # The holdout's first day comes before the GROUP BY, so that the calibration's aggregates
    # are read in the same scan as the run's (FILTER clauses) instead of a second one.
    cal_end = None
    if holdout_share is not None:
        first_day = _first_purchase(workspace, span, reference_date, window_start, now)
        if first_day is not None:
            cal_end = calibration_end(_naive(first_day), reference_date, holdout_share)

    def part(customers: tuple[int, int] | None = None) -> tuple[pd.DataFrame, pd.Series | None]:
        lines = _run_lines(
            workspace, reference_date, window_start, now, customers, checked=span.left_out > 0
        )
        if connection.vendor == "postgresql":
            return _copied_rows(lines, first, last, cal_end)
        return _aggregate_rows(lines, first, last, cal_end), None

    if snapshot is not None:
        done = in_snapshot(snapshot, [lambda r=r: part(r) for r in ranges])
    else:
        done = [part()]
    read = pd.concat([rows for rows, _ in done], ignore_index=True)
    days = None
    if cal_end is not None:
        started = time.perf_counter()
        if connection.vendor == "postgresql":  # each part's, from the same statement
            daily = _summed([part_days for _, part_days in done])
        else:
            daily = _daily_purchase_days(
                workspace, cal_end, reference_date, window_start, first, last, now
            )
        days = (daily, time.perf_counter() - started)
    table, customers_in_database, pk_by_customer_id, cal_table = _aggregate_table(
        workspace, read, cal_end
    )

    summary = {
        "customers_with_lines": int(len(table)),
        "customers_in_database": customers_in_database,
        "purchase_lines": int(table["lines"].sum()),
        "return_lines": int(table["return_lines"].sum()),
        "gross_revenue": round(float(table["gross_revenue"].sum()), 2),
        "returned_revenue": round(float(table["returned_revenue"].sum()), 2),
        "first_purchase": _iso(table["first_purchase"].min()),
        "last_purchase": _iso(table["last_purchase"].max()),
        "reference_date": reference_date.date().isoformat(),
        "window_start": window_start.date().isoformat() if window_start is not None else None,
        "implausible_lines_left_out": span.left_out,
    }
    # the workspace is part of what was read: equal tables of two shops are not the same data
    digest = hashlib.sha256(
        f"workspace:{getattr(workspace, 'pk', workspace)}:".encode()
        + pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes()
    ).hexdigest()
    calibration, calibration_seconds = None, 0.0
    if cal_end is not None and days is not None:
        # what the value stage reads beyond the common scan (its columns are in "read data")
        calibration_seconds = days[1]
        calibration = Calibration(cal_table, cal_end, days[0])
    return CustomerAggregates(
        table,
        reference_date,
        window_start,
        summary,
        digest,
        pk_by_customer_id,
        calibration,
        calibration_seconds,
        tuple(note for note in [left_out_note(workspace, span, now)] if note),
    )


def _first_purchase(
    workspace,
    span: Span,
    reference_date: pd.Timestamp,
    window_start: pd.Timestamp | None,
    now: datetime,
) -> datetime | None:
    """The first purchase the run reads (from ``window_start``, before ``reference_date``):
    the span's, unless the window starts after it (then one MIN over the window)."""
    first = span.first_purchase
    if first is None or first >= _aware(reference_date):
        return None
    if window_start is None or first >= _aware(window_start):
        return first
    return (
        _lines(workspace, now=now)
        .filter(
            is_non_product=False,
            is_return=False,
            timestamp__gte=_aware(window_start),
            timestamp__lt=_aware(reference_date),
        )
        .aggregate(first=Min("timestamp"))["first"]
    )


#: The columns of the calibration table: what the holdout check reads (engine value.histories).
CALIBRATION_COLUMNS = (
    "customer_id",
    "first_purchase",
    "last_purchase",
    "purchase_days",
    "gross_revenue",
)


def _customer_ranges(workspace) -> list[tuple[int, int]]:
    """Ranges of customer primary keys ([low, high)) to read on separate connections: one
    per RUN_READ_CONNECTIONS for a big workspace, none below RUN_READ_SPLIT_MIN_CUSTOMERS."""
    parts = settings.RUN_READ_CONNECTIONS
    if parts < 2 or connection.vendor != "postgresql":
        return []
    found = Customer.objects.in_workspace(workspace).aggregate(
        n=Count("pk"), low=Min("pk"), high=Max("pk")
    )
    if found["n"] < max(settings.RUN_READ_SPLIT_MIN_CUSTOMERS, parts):
        return []
    low, high = found["low"], found["high"] + 1
    cuts = [low + (high - low) * i // parts for i in range(parts + 1)]
    return [(a, b) for a, b in itertools.pairwise(cuts) if a < b]


def _run_lines(
    workspace,
    reference_date: pd.Timestamp,
    window_start: pd.Timestamp | None,
    now: datetime,
    customers: tuple[int, int] | None = None,
    *,
    checked: bool = True,
):
    """The product lines a run reads: plausible, before ``reference_date`` (from
    ``window_start``), of the customers in the primary-key range ``customers`` if given.
    ``checked=False`` leaves out the plausibility test, for a span that found every line
    plausible in the same snapshot (the test was a tenth of the GROUP BY's time at 1M)."""
    lines = _lines(workspace, plausible=checked, now=now).filter(
        is_non_product=False, timestamp__lt=_aware(reference_date)
    )
    if window_start is not None:
        lines = lines.filter(timestamp__gte=_aware(window_start))
    if customers is not None:
        lines = lines.filter(customer_id__gte=customers[0], customer_id__lt=customers[1])
    return lines


def _aggregates(first: datetime, last: datetime, cal_end: pd.Timestamp | None, *, listed: bool):
    """The GROUP BY's aggregates by column name (CALIBRATION_COLUMNS as ``cal_`` ones with
    ``cal_end``). ``listed``: the purchase days as a list (``days``) instead of counts, from
    which the statement counts them and the tracking chart's days (_copied_rows)."""
    purchase = Q(is_return=False)
    returned = Q(is_return=True)

    def local_day():
        return LocalDate("timestamp", start=first, end=last + timedelta(seconds=1))

    aggregates = {
        "first_purchase": Min("timestamp", filter=purchase),
        "last_purchase": Max("timestamp", filter=purchase),
        "invoices": Count("invoice", distinct=True, filter=purchase),
        "distinct_products": Count("product_code", distinct=True, filter=purchase),
        "gross_revenue": Sum("amount", filter=purchase),
        "returned_revenue": Sum(Abs("amount"), filter=returned),
        "lines": Count("pk", filter=purchase),
        "return_lines": Count("pk", filter=returned),
    }
    if listed:
        aggregates["days"] = ArrayAgg(local_day(), distinct=True, filter=purchase)
    else:
        aggregates["purchase_days"] = Count(local_day(), distinct=True, filter=purchase)
    if cal_end is not None:
        before = Q(timestamp__lt=_aware(cal_end))
        aggregates |= {
            "cal_first_purchase": Min("timestamp", filter=purchase & before),
            "cal_last_purchase": Max("timestamp", filter=purchase & before),
            "cal_gross_revenue": Sum("amount", filter=purchase & before),
            "cal_rows": Count("pk", filter=before),
        }
        if not listed:
            aggregates["cal_purchase_days"] = Count(
                local_day(), distinct=True, filter=purchase & before
            )
    return aggregates


def _aggregate_rows(
    lines, first: datetime, last: datetime, cal_end: pd.Timestamp | None = None
) -> pd.DataFrame:
    """The GROUP BY's rows through the ORM: one per customer of ``lines``; with ``cal_end``,
    also the calibration's columns (``cal_`` and CALIBRATION_COLUMNS) as of then."""
    aggregates = _aggregates(first, last, cal_end, listed=False)
    rows = (
        lines.values(customer_pk=F("customer"))
        .annotate(**aggregates)
        .order_by("customer_pk")
        .values_list("customer_pk", *aggregates)
    )
    return _frame(rows, ["customer_pk", *aggregates])


def _copied_rows(
    lines, first: datetime, last: datetime, cal_end: pd.Timestamp | None
) -> tuple[pd.DataFrame, pd.Series | None]:
    """PostgreSQL: _aggregate_rows's table and, with ``cal_end``, the tracking chart's
    purchase days per day (_daily_purchase_days) from one scan, copied out as CSV.

    Each customer's purchase days are listed once (ARRAY_AGG DISTINCT) and counted from the
    list, in total and before ``cal_end`` (a local midnight); the chart's days are the lists
    of the customers who bought before then. At 1M customers the separate daily query was
    26 s of a 56 s read, and building a million rows as Python tuples 5 s a part
    (docs/scaling.md)."""
    aggregates = _aggregates(first, last, cal_end, listed=True)
    inner, params = (
        lines.values(customer_pk=F("customer"))
        .annotate(**aggregates)
        .order_by()
        .values_list("customer_pk", *aggregates)
        .query.sql_with_params()
    )
    outputs, out_params = ["customer_pk"], []
    for name in [n for n in aggregates if n != "days"]:
        outputs.append(_EPOCH_US.format(name) if name.endswith("_purchase") else name)
    outputs.append("COALESCE(cardinality(days), 0)")
    columns = ["customer_pk", *(n for n in aggregates if n != "days"), "purchase_days"]
    if cal_end is not None:
        outputs.append("(SELECT COUNT(*) FROM unnest(days) AS d WHERE d < %s)")
        out_params.append(cal_end.date())
        columns.append("cal_purchase_days")
    sql = (
        f"WITH per AS MATERIALIZED ({inner}) "  # noqa: S608 (Django's SQL; values as params)
        f"SELECT 0, {', '.join(outputs)}, NULL::integer, NULL::bigint FROM per"
    )
    if cal_end is not None:
        nulls = ", ".join(["NULL"] * len(outputs))
        sql += (
            f" UNION ALL SELECT 1, {nulls}, d - DATE '1970-01-01', COUNT(*) "  # noqa: S608
            "FROM per CROSS JOIN LATERAL unnest(days) AS d "
            "WHERE cal_first_purchase IS NOT NULL GROUP BY d"
        )
    header = ["kind", *columns, "day", "day_purchase_days"]
    buffer = _copied_csv(sql, [*params, *out_params])
    read = pd.read_csv(
        buffer,
        names=header,
        dtype={c: "float64" if c.endswith("revenue") else "Int64" for c in header},
    )
    del buffer
    customers = read["kind"] == 0
    rows = read.loc[customers, columns].sort_values("customer_pk").reset_index(drop=True)
    rows["customer_pk"] = rows["customer_pk"].astype("int64")
    for name in rows.columns:
        if name.endswith("_purchase"):
            rows[name] = pd.to_datetime(rows[name], unit="us", utc=True)
    if cal_end is None:
        return rows, None
    days = read.loc[~customers, ["day", "day_purchase_days"]]
    return rows, pd.Series(
        days["day_purchase_days"].astype("int64").to_numpy(),
        index=pd.DatetimeIndex(pd.to_datetime(days["day"].astype("int64"), unit="D")),
        name="purchase_days",
    )


#: A timestamp as whole microseconds since 1970 (UTC): exact in CSV, parsed without a format.
_EPOCH_US = "(EXTRACT(EPOCH FROM {}) * 1000000)::bigint"


def _summed(parts: list[pd.Series | None]) -> pd.Series:
    """The parts' purchase days per day, added up by day, in day order."""
    present = [p for p in parts if p is not None and len(p)]
    if not present:
        return pd.Series([], index=pd.DatetimeIndex([]), dtype="int64", name="purchase_days")
    days = pd.concat(present).groupby(level=0).sum().sort_index()
    return days.astype("int64").rename("purchase_days")


def _aggregate_table(
    workspace, read: pd.DataFrame, cal_end: pd.Timestamp | None
) -> tuple[pd.DataFrame, int, pd.Series, pd.DataFrame | None]:
    """From the GROUP BY's rows: the aggregate table, the number of the workspace's customers,
    their primary keys by the shop's id, and with ``cal_end`` the calibration table."""
    customers = _customer_ids(workspace)
    read = read.join(customers, on="customer_pk")
    read["customer_id"] = read["external_id"].astype(str)
    pk_by_customer_id = pd.Series(
        read["customer_pk"].astype("int64").to_numpy(), index=read["customer_id"].to_numpy()
    )
    read["country"] = read["country"].fillna("").astype(str)
    table = _typed(read)[list(AGGREGATE_COLUMNS)].reset_index(drop=True)
    calibration = None
    if cal_end is not None:
        # a customer is in the calibration table when any of their lines came before cal_end
        cal = read.loc[
            read["cal_rows"] > 0, ["customer_id", *(f"cal_{c}" for c in CALIBRATION_COLUMNS[1:])]
        ]
        cal = cal.rename(columns={f"cal_{c}": c for c in CALIBRATION_COLUMNS[1:]})
        calibration = _typed(cal)[list(CALIBRATION_COLUMNS)].reset_index(drop=True)
    return table, len(customers), pk_by_customer_id, calibration


def _customer_ids(workspace) -> pd.DataFrame:
    """The shop's customer ids and countries by primary key (a second, small query). On
    PostgreSQL copied out as CSV: a million customers as Python tuples took 3.1 s of a run's
    read, the COPY and its parse 1.1 s."""
    customers = Customer.objects.in_workspace(workspace).values_list("pk", "external_id", "country")
    columns = ["customer_pk", "external_id", "country"]
    if connection.vendor != "postgresql":
        return _frame(customers, columns).set_index("customer_pk")
    buffer = _copied_csv(*customers.order_by().query.sql_with_params())
    # every value as written: an id "NA" or "007" is text (no type guessed), a country ""
    read = pacsv.read_csv(
        buffer,
        read_options=pacsv.ReadOptions(column_names=columns),
        convert_options=pacsv.ConvertOptions(
            column_types={"customer_pk": pa.int64()} | dict.fromkeys(columns[1:], pa.string()),
            null_values=[],
            strings_can_be_null=False,
        ),
    ).to_pandas()
    return read.set_index("customer_pk")


def _copied_csv(sql: str, params) -> io.BytesIO:
    """PostgreSQL: the statement's rows copied out as CSV, ready to read."""
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        statement = cursor.cursor.mogrify(sql, params).decode()
        cursor.cursor.copy_expert(f"COPY ({statement}) TO STDOUT WITH (FORMAT csv)", buffer)
    buffer.seek(0)
    return buffer


#: Rows read from the database at a time: a million customers' rows as Python tuples at once
#: took more memory than the whole engine run (docs/performance.md).
READ_CHUNK = 20_000


def _frame(rows, columns: list[str]) -> pd.DataFrame:
    """A query's rows as one DataFrame, built chunk by chunk with compact column types."""
    iterator = iter(rows.iterator(chunk_size=READ_CHUNK))
    frames = []
    while batch := list(itertools.islice(iterator, READ_CHUNK)):
        frames.append(_compact(pd.DataFrame.from_records(batch, columns=columns)))
    if not frames:
        return _compact(pd.DataFrame.from_records([], columns=columns))
    return pd.concat(frames, ignore_index=True)


def _compact(chunk: pd.DataFrame) -> pd.DataFrame:
    """Times as UTC datetime64, sums (Decimal or None) as floats: no Python object per value."""
    for column in chunk.columns:
        if column.endswith(("_purchase",)):
            chunk[column] = pd.to_datetime(chunk[column], utc=True)
        elif column.endswith("revenue"):
            chunk[column] = pd.to_numeric(chunk[column], errors="coerce").astype(float)
    return chunk


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    """The database's values as the engine's types: naive local times, floats, int64."""
    table = table.copy()
    zone = timezone.get_current_timezone_name()
    for column in ("first_purchase", "last_purchase"):
        table[column] = (
            pd.to_datetime(table[column], utc=True).dt.tz_convert(zone).dt.tz_localize(None)
        )
    for column in ("gross_revenue", "returned_revenue"):
        if column in table:
            table[column] = pd.to_numeric(table[column], errors="coerce").fillna(0.0).astype(float)
    for column in ("invoices", "distinct_products", "lines", "return_lines", "purchase_days"):
        if column in table:
            table[column] = table[column].fillna(0).astype("int64")
    return table


_FROM_CUSTOMERS = ("customer_id", "country")


def _daily_purchase_days(
    workspace,
    cal_end: pd.Timestamp,
    reference_date: pd.Timestamp,
    window_start: pd.Timestamp | None,
    first: datetime,
    last: datetime,
    now: datetime,
) -> pd.Series:
    """The value check's weekly tracking input (engine value.daily_purchase_days): purchase
    days per local day before ``reference_date`` of the customers who bought before
    ``cal_end``, one row per day from the database."""
    lines = _lines(workspace, now=now).filter(
        is_non_product=False, is_return=False, timestamp__lt=_aware(reference_date)
    )
    if window_start is not None:
        lines = lines.filter(timestamp__gte=_aware(window_start))
    # One pass, no join: each customer's purchase days with the customer's first purchase
    # beside them (a window), so the plan cannot turn quadratic on a table whose planner
    # statistics are stale (a semi-join against the same table did, right after an import).
    days = lines.values(
        buyer=F("customer"),
        day=LocalDate("timestamp", start=first, end=last + timedelta(seconds=1)),
    ).annotate(day_first=Min("timestamp"))
    inner, params = days.query.sql_with_params()
    # `inner` is Django's own compiled SQL; every value travels as a parameter.
    sql = (
        "SELECT day, COUNT(*) FROM (SELECT day, "  # noqa: S608
        "MIN(day_first) OVER (PARTITION BY buyer) AS first_at "
        f"FROM ({inner}) AS per_day) AS cohort WHERE first_at < %s GROUP BY day ORDER BY day"
    )
    cutoff = connection.ops.adapt_datetimefield_value(_aware(cal_end))
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, cutoff])
        rows = [{"day": day, "purchase_days": n} for day, n in cursor.fetchall()]
    table = pd.DataFrame.from_records(list(rows), columns=["day", "purchase_days"])
    return pd.Series(
        table["purchase_days"].astype("int64").to_numpy(),
        index=pd.DatetimeIndex(pd.to_datetime(table["day"])),
        name="purchase_days",
    )


def _iso(value) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).isoformat()
