"""Reads behind the segment pages and the run's CSV downloads: one segment, a page of its
members, every member or every assignment as rows. Each is one indexed query over what the
run stored; a segment or run given here was read in its workspace, so its related managers
are scoped by it."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db.models import F, QuerySet

from clustering.engine.vocabulary import FEATURE_LABELS
from clustering.models import Segment, SegmentAssignment, SegmentationRun

#: The member columns a user may sort by: query value -> (label, ORM field).
MEMBER_SORTS: dict[str, tuple[str, str]] = {
    "customer": ("Customer id", "customer__external_id"),
    "confidence": ("Confidence", "confidence"),
    "recency": (FEATURE_LABELS["recency_days"], "recency_days"),
    "frequency": (FEATURE_LABELS["frequency"], "frequency"),
    "monetary": (FEATURE_LABELS["monetary_total"], "monetary_total"),
    "basket": (FEATURE_LABELS["avg_basket_value"], "avg_basket_value"),
    "p_alive": ("P(alive)", "p_alive"),
    "expected_purchases": ("Expected purchases", "expected_purchases"),
    "expected_value": ("Expected value", "expected_value"),
}
#: Each member's value ahead over the run's horizon (null when the run did not estimate it).
MEMBER_VALUE_FIELDS = ("p_alive", "expected_purchases", "expected_value")
MEMBER_VALUES = (
    "customer__external_id",
    "customer__country",
    "confidence",
    "recency_days",
    "frequency",
    "monetary_total",
    "avg_basket_value",
    "rfm_segment",
    *MEMBER_VALUE_FIELDS,
)
#: The member CSV's columns, in the order segment_member_rows gives them.
MEMBER_CSV_HEADER = (
    "customer_id",
    "country",
    "confidence",
    "rfm_segment",
    *SegmentAssignment.FEATURE_FIELDS,
    *MEMBER_VALUE_FIELDS,
)
MEMBERS_PER_PAGE = 50


def segment_get(*, workspace, run_id: int, number: int) -> Segment | None:
    return (
        Segment.objects.in_workspace(workspace)
        .select_related("run", "run__published_by")
        .defer(
            *SegmentationRun.report_data_fields(
                through="run__", keep=("activity_rhythm", "value_ahead")
            )
        )
        .filter(run_id=run_id, number=number)
        .first()
    )


def segment_members_page(
    segment: Segment, *, search: str = "", sort: str = "monetary", descending: bool = True, page=1
) -> Page:
    """One page of a segment's members as dicts, searchable by customer id prefix."""
    order_field = MEMBER_SORTS.get(sort, MEMBER_SORTS["monetary"])[1]
    rows: QuerySet = segment.assignments.all()
    if search:
        rows = rows.filter(customer__external_id__startswith=search)
    # Members not estimated (null) come last either way, on SQLite and PostgreSQL alike.
    ordering = [
        F(order_field).desc(nulls_last=True) if descending else F(order_field).asc(nulls_last=True),
        "customer__external_id",
    ]
    rows = rows.order_by(*ordering).values(*MEMBER_VALUES)
    return Paginator(rows, MEMBERS_PER_PAGE).get_page(page)


def segment_member_rows(segment: Segment):
    """Every member of a segment with the features it was judged on, for the CSV export."""
    values = ("customer__external_id", "customer__country", "confidence", "rfm_segment")
    return segment.assignments.order_by("customer__external_id").values_list(
        *values, *SegmentAssignment.FEATURE_FIELDS, *MEMBER_VALUE_FIELDS
    )


def run_assignment_rows(run: SegmentationRun):
    """Every customer's segment in a run, for the CSV export."""
    return run.assignments.order_by("customer__external_id").values_list(
        "customer__external_id",
        "segment__number",
        "segment__name",
        "confidence",
        "rfm_segment",
        "rfm_cell",
        *SegmentAssignment.FEATURE_FIELDS,
    )
