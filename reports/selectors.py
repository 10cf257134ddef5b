"""Reads behind the reports pages: the dashboard, customer lookup, run comparison.

Every function reads one workspace's data, what its runs stored (segments, assignments, the
report JSON fields); none recomputes anything over all customers, so each page costs a
handful of indexed queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import OuterRef, Subquery

from accounts.models import Membership
from clustering.history import HistoryEntry, customer_history
from clustering.models import SegmentAssignment, SegmentationRun
from clustering.selectors import customer_segment_history, run_segments, run_transitions
from customers.models import Customer, ImportRecord, TransactionLine

RECENT_LINES = 20


def published_run(*, workspace) -> SegmentationRun | None:
    """The workspace's current segmentation (None when nothing is published there)."""
    publisher_roles = Membership.objects.in_workspace(workspace).filter(
        user=OuterRef("published_by")
    )
    return (
        SegmentationRun.objects.in_workspace(workspace)
        .filter(is_published=True)
        .select_related("published_by", "created_by")
        # The publisher's role here, named on the dashboard, in the same query.
        .annotate(publisher_role=Subquery(publisher_roles.values("role")[:1]))
        .without_report_data(  # the dashboard reads these
            "data_summary", "activity_rhythm", "value_ahead"
        )
        .first()
    )


def last_import(*, workspace) -> ImportRecord | None:
    return (
        ImportRecord.objects.in_workspace(workspace)
        .only(
            "pk",
            "file_name",
            "status",
            "created_at",
            "finished_at",
            "rows_read",
            "rows_imported",
            "rows_skipped",
            "rows_rejected",
            "counts_by_reason",  # its status says which skipped rows are warnings
            "summary",  # and whether one customer holds a fifth of its rows
        )
        .first()
    )


def last_run(*, workspace) -> SegmentationRun | None:
    return (
        SegmentationRun.objects.in_workspace(workspace)
        .only(
            "pk",
            "name",
            "status",
            "stage",
            "progress",
            "created_at",
            "finished_at",
            "reference_date",
            "error",
        )
        .order_by("-created_at", "-pk")
        .first()
    )


@dataclass
class CustomerLookup:
    customer: Customer
    current: SegmentAssignment | None  # in the published run
    published: SegmentationRun | None
    history: list[SegmentAssignment] = field(default_factory=list)  # earlier published runs
    recent_lines: list[TransactionLine] = field(default_factory=list)
    # the customer at every publication, newest first, "not in this run" included
    publications: list[HistoryEntry] = field(default_factory=list)


def customer_lookup(*, workspace, external_id: str) -> CustomerLookup | None:
    """The workspace's customer with this id (ids are the shop's own, unique per workspace):
    features, current and earlier segments and recent lines, or None."""
    customer = Customer.objects.in_workspace(workspace).filter(external_id=external_id).first()
    if customer is None:
        return None
    published = published_run(workspace=workspace)
    history = list(customer_segment_history(customer.pk, workspace=workspace))
    current = next((a for a in history if published and a.run_id == published.pk), None)
    earlier = [a for a in history if a is not current]
    # The workspace leads the lines' primary key (workspace, customer, timestamp, hash).
    lines = list(
        TransactionLine.objects.in_workspace(workspace)
        .filter(customer=customer)
        .only(
            "invoice",
            "product_code",
            "description",
            "quantity",
            "unit_price",
            "amount",
            "timestamp",
            "is_return",
            "is_non_product",
        )
        .order_by("-timestamp", "-pk")[:RECENT_LINES]
    )
    path = customer_history(workspace=workspace, customer=customer)
    return CustomerLookup(customer, current, published, earlier, lines, path)


@dataclass
class Comparison:
    before: SegmentationRun
    after: SegmentationRun
    rows: list[str]  # segment names of the earlier run
    columns: list[str]  # segment names of the later run (+ "Not in the later run")
    matrix: list[list[int]]
    movements: list[dict]  # the biggest moves between differently named segments
    total: int
    stayed: int


NOT_IN_LATER = "Not in the later run"


def run_comparison(*, workspace, before: SegmentationRun, after: SegmentationRun) -> Comparison:
    """How the customers of one run are spread over the segments of another (both runs of
    the workspace)."""
    transitions = run_transitions(before, after, workspace=workspace)
    rows = list(run_segments(before, workspace=workspace).values_list("name", flat=True))
    columns = list(run_segments(after, workspace=workspace).values_list("name", flat=True))
    if any(t["to"] is None for t in transitions):
        columns.append(NOT_IN_LATER)
    counts = {(t["from"], t["to"] or NOT_IN_LATER): t["customers"] for t in transitions}
    matrix = [[counts.get((r, c), 0) for c in columns] for r in rows]
    moves = sorted(
        (
            {"from": f, "to": t, "customers": n}
            for (f, t), n in counts.items()
            if f != t and t != NOT_IN_LATER
        ),
        key=lambda m: -m["customers"],
    )
    stayed = sum(n for (f, t), n in counts.items() if f == t)
    return Comparison(before, after, rows, columns, matrix, moves[:5], sum(counts.values()), stayed)
