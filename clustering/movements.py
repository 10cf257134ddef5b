"""Who moved between two segmentations of a workspace, in words: the segments of the later
run matched to the earlier run's by their members (engine.movements), then each flow of
customers from a segment to a segment with its count and revenue."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from django.core.cache import cache
from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet

from common.derived_cache import customers_version
from customers.models import Customer
from workspaces.models import Workspace

from .engine.movements import match_crosstab, order_flows
from .models import Publication, Segment, SegmentAssignment, SegmentationRun
from .selectors import succeeded_runs

#: A segment counts as lapsed when at least this share of its members is cooling or lapsed.
LAPSED_SHARE = 0.5
#: How long two runs' movements stay cached: reading both runs' assignments takes seconds at
#: a million customers, and neither changes but by a customer's deletion (which bumps the key).
MOVEMENTS_CACHE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class SegmentRef:
    number: int
    name: str
    #: its revenue share exceeds its customer share
    valuable: bool
    #: most of its customers are cooling or lapsed
    lapsed: bool


@dataclass(frozen=True)
class Flow:
    source: SegmentRef | None  # None: customers new to the later run
    target: SegmentRef | None  # None: customers absent from the later run
    customers: int
    revenue: float  # in the earlier run's period (for new customers, the later run's)
    moved: bool  # False when the target continues the source
    sentence: str


@dataclass(frozen=True)
class Movements:
    earlier_run: SegmentationRun
    later_run: SegmentationRun
    earlier: Publication | None
    later: Publication | None
    currency: str
    flows: list[Flow]
    in_both: int
    new: int
    gone: int
    #: later segment number -> the earlier number it continues (None: a new segment)
    matches: dict[int, int | None]
    #: earlier segment number -> share of its members (in both runs) kept by its continuation
    kept: dict[int, float]

    @property
    def moves(self) -> list[Flow]:
        """Customers who changed segment, largest first (not the new or the gone)."""
        return [f for f in self.flows if f.moved and f.source and f.target]


def movements_between(*, workspace, later: Publication) -> Movements | None:
    """Movements from the publication before `later` to `later`; None for a first one."""
    if later.previous_id is None:
        return None
    earlier = (
        Publication.objects.in_workspace(workspace).select_related("run").get(pk=later.previous_id)
    )
    return compare_runs(
        workspace=workspace,
        earlier_run=earlier.run,
        later_run=later.run,
        earlier=earlier,
        later=later,
    )


def compare_runs(
    *,
    workspace,
    earlier_run: SegmentationRun,
    later_run: SegmentationRun,
    earlier: Publication | None = None,
    later: Publication | None = None,
) -> Movements:
    """Movements between two succeeded runs of the workspace (published or not), cached."""
    key = (
        f"movements:{workspace.pk}:{customers_version(workspace.pk)}:"
        f"{earlier_run.pk}:{later_run.pk}"
    )
    computed = cache.get(key)
    if computed is None:
        computed = _compare(workspace, earlier_run, later_run)
        cache.set(key, computed, MOVEMENTS_CACHE_SECONDS)
    return Movements(
        earlier_run=earlier_run, later_run=later_run, earlier=earlier, later=later, **computed
    )


def _compare(workspace, earlier_run: SegmentationRun, later_run: SegmentationRun) -> dict:
    """What Movements holds beyond its runs and publications (plain data, for the cache)."""
    segments = list(
        Segment.objects.in_workspace(workspace).filter(run__in=[earlier_run, later_run])
    )
    before_refs = {s.number: _ref(s) for s in segments if s.run_id == earlier_run.pk}
    after_refs = {s.number: _ref(s) for s in segments if s.run_id == later_run.pk}
    pairs = _crosstab(workspace, earlier_run, later_run, {s.pk: s.number for s in segments})
    matching = match_crosstab(
        pairs,
        {n: r.name for n, r in before_refs.items()},
        {n: r.name for n, r in after_refs.items()},
    )
    currency = workspace.currency
    flows = []
    for row in order_flows(pairs).itertuples(index=False):
        source = None if pd.isna(row.source) else before_refs[int(row.source)]
        target = None if pd.isna(row.target) else after_refs[int(row.target)]
        moved = (
            source is None or target is None or matching.continues[target.number] != (source.number)
        )
        flows.append(
            Flow(
                source=source,
                target=target,
                customers=int(row.customers),
                revenue=float(row.revenue),
                moved=moved,
                sentence=_sentence(
                    source, target, moved, int(row.customers), row.revenue, currency
                ),
            )
        )
    customers = {
        side: int(pairs.loc[rows, "customers"].sum())
        for side, rows in (
            ("in_both", pairs["source"].notna() & pairs["target"].notna()),
            ("new", pairs["source"].isna()),
            ("gone", pairs["target"].isna()),
        )
    }
    return {
        "currency": currency,
        "flows": flows,
        **customers,
        "matches": matching.continues,
        "kept": matching.kept,
    }


def movements_warm(*, workspace_id: int, publication_id: int) -> str:
    """Compute into the cache, on a worker right after a publication, the movements its
    pages show first: the publication against the one before (the movements page, the
    dashboard's top moves) and the compare page's default pair (the newest succeeded run
    against the one before it). Safe to run twice (the second finds them cached) and after
    the publication or its workspace is gone (nothing to do)."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return "no such workspace"
    publication = (
        Publication.objects.in_workspace(workspace)
        .select_related("run")
        .filter(pk=publication_id)
        .first()
    )
    if publication is None:
        return "no such publication"
    warmed = []
    if movements_between(workspace=workspace, later=publication) is not None:
        warmed.append("publication")
    if _warm_default_pair(workspace):
        warmed.append("compare")
    return f"warmed {', '.join(warmed) or 'nothing'}"


def compare_warm(*, workspace_id: int) -> str:
    """Compute into the cache, on a worker right after a run succeeds, the compare page's
    default pair (that run against the one before), so that reviewing a new run before
    publishing it waits for nothing (2-3 s at a million customers). Safe to run twice."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return "no such workspace"
    return "warmed compare" if _warm_default_pair(workspace) else "warmed nothing"


def _warm_default_pair(workspace) -> bool:
    newest = list(succeeded_runs(workspace=workspace)[:2])  # the compare page's default pair
    if len(newest) < 2:
        return False
    compare_runs(workspace=workspace, earlier_run=newest[1], later_run=newest[0])
    return True


def flow_customers(
    *,
    workspace,
    earlier_run: SegmentationRun,
    later_run: SegmentationRun,
    source: int | None,
    target: int | None,
) -> QuerySet[Customer]:
    """The customers behind one flow: in segment `source` of the earlier run (None: not in
    it) and segment `target` of the later run (None: not in it)."""
    customers = Customer.objects.in_workspace(workspace)
    for run, number in ((earlier_run, source), (later_run, target)):
        in_run = SegmentAssignment.objects.in_workspace(workspace).filter(run=run)
        if number is None:
            # NOT EXISTS (an anti-join), not NOT IN: NOT IN over a million ids that outgrow
            # work_mem is planned as a scan of the whole list per row
            customers = customers.exclude(Exists(in_run.filter(customer_id=OuterRef("pk"))))
        else:
            customers = customers.filter(
                pk__in=in_run.filter(segment__number=number).values("customer_id")
            )
    if source is None and target is None:
        return customers.none()
    return customers.order_by("external_id")


def _crosstab(
    workspace,
    earlier_run: SegmentationRun,
    later_run: SegmentationRun,
    numbers: dict[int, int],
) -> pd.DataFrame:
    """Customers and revenue per (earlier segment, later segment) pair, counted by the
    database: the earlier run's assignments LEFT JOIN the later run's on the customer, then
    the later run's customers absent from the earlier (the new). Revenue is the earlier
    run's, a new customer's the later run's, null as 0 (engine.movements.flow_table).
    ``numbers``: segment primary key -> number.

    Columns source, target (segment numbers, <NA> for absent), customers, revenue. Reading
    the runs' million assignments into Python instead took seconds (docs/performance.md).
    Not a FULL OUTER JOIN: SQLite has it only from 3.39, and the embedded default runs on
    the SQLite a machine's Python brings."""
    assignments = SegmentAssignment.objects.in_workspace(workspace)
    columns = ("customer_id", "segment_id", "monetary_total")
    earlier, earlier_params = (
        assignments.filter(run=earlier_run).values(*columns).query.sql_with_params()
    )
    later, later_params = assignments.filter(run=later_run).values(*columns).query.sql_with_params()
    # the subqueries are the ORM's own (workspace-scoped, values as parameters)
    sql = (
        "SELECT e.segment_id, l.segment_id, COUNT(*), SUM(COALESCE(e.monetary_total, 0))"  # noqa: S608
        f" FROM ({earlier}) e LEFT JOIN ({later}) l ON e.customer_id = l.customer_id"
        " GROUP BY e.segment_id, l.segment_id"
        " UNION ALL"
        " SELECT NULL, n.segment_id, COUNT(*), SUM(COALESCE(n.monetary_total, 0))"
        f" FROM ({later}) n WHERE NOT EXISTS (SELECT 1 FROM ({earlier}) o"
        " WHERE o.customer_id = n.customer_id) GROUP BY n.segment_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, (*earlier_params, *later_params, *later_params, *earlier_params))
        rows = cursor.fetchall()
    return pd.DataFrame(
        {
            "source": pd.array([numbers.get(r[0]) for r in rows], dtype="Int64"),
            "target": pd.array([numbers.get(r[1]) for r in rows], dtype="Int64"),
            "customers": pd.array([r[2] for r in rows], dtype="int64"),
            "revenue": pd.array([float(r[3] or 0.0) for r in rows], dtype="float64"),
        }
    )


def _ref(segment: Segment) -> SegmentRef:
    shares = segment.activity_shares or {}
    if shares:
        lapsed = shares.get("cooling", 0) + shares.get("lapsed", 0) >= LAPSED_SHARE
    else:
        lapsed = segment.activity in {"lapsed", "inactive", "slipping"}
    return SegmentRef(
        number=segment.number,
        name=segment.name,
        valuable=segment.share_revenue > segment.share_customers,
        lapsed=lapsed,
    )


def _sentence(
    source: SegmentRef | None,
    target: SegmentRef | None,
    moved: bool,
    customers: int,
    revenue: float,
    currency: str,
) -> str:
    people = f"{customers:,} customer{'s' if customers != 1 else ''}"
    money = f"{currency} {revenue:,.0f}"
    if source is None and target is not None:
        return f"{people} new since the earlier run, {money} of revenue: now {target.name}"
    if target is None and source is not None:
        return f"{people}, {money} of revenue: {source.name} → not in the later run"
    if not moved and source.name == target.name:
        return f"{people}, {money} of revenue: stayed {target.name}"
    if not moved:  # the same group of customers, named anew by the later run
        renamed = f"{source.name} now named {target.name}"
        return f"{people}, {money} of revenue: stayed in the same group, {renamed}"
    return f"{people}, {money} of revenue: {source.name} → {target.name}"
