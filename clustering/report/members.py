"""Reads behind the segment pages: one segment and a page of its members (the CSV downloads:
clustering.report.member_export). Each is one indexed query over what the run stored; a
segment given here was read in its workspace, so its related managers are scoped by it."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db.models import F, QuerySet
from django.utils.functional import cached_property

from clustering.engine.value import ASSIGNED_VALUE_COLUMNS
from clustering.engine.vocabulary import FEATURE_LABELS
from clustering.models import Segment, SegmentationRun

from .audience import EVERYONE, Audience, narrow

#: The member columns a user may sort by: query value -> (label, ORM field).
MEMBER_SORTS: dict[str, tuple[str, str]] = {
    "customer": ("Customer id", "customer__external_id"),
    "confidence": ("Fit", "confidence"),  # said in words (clustering.report.member_fit)
    "recency": (FEATURE_LABELS["recency_days"], "recency_days"),
    "frequency": (FEATURE_LABELS["frequency"], "frequency"),
    "monetary": (FEATURE_LABELS["monetary_total"], "monetary_total"),
    "basket": (FEATURE_LABELS["avg_basket_value"], "avg_basket_value"),
    "p_alive": ("P(alive)", "p_alive"),
    "expected_purchases": ("Expected purchases", "expected_purchases"),
    "expected_value": ("Expected value", "expected_value"),
    # ascending: who is due to buy first, if still a customer
    "next_order": ("Next order within, if active", "next_purchase_days"),
}
#: Each member's value ahead over the run's horizon (null when the run did not estimate it).
MEMBER_VALUE_FIELDS = ASSIGNED_VALUE_COLUMNS
MEMBER_VALUES = (
    "customer__external_id",
    "customer__country",
    "customer__last_purchase_at",
    "confidence",
    "runner_up_number",
    "recency_days",
    "tenure_days",  # with the recency: bought on one day only (no repeat purchase)
    "frequency",
    "monetary_total",
    "avg_basket_value",
    "rfm_segment",
    *MEMBER_VALUE_FIELDS,
)
#: Read only for those who may see personal data (accounts.roles.PERSONAL_DATA_PERMISSION).
MEMBER_CONTACT_VALUES = ("customer__email", "customer__name")
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
    segment: Segment,
    *,
    search: str = "",
    sort: str = "monetary",
    descending: bool = True,
    page=1,
    personal: bool = False,
    audience: Audience = EVERYONE,
) -> Page:
    """One page of a segment's members as dicts, searchable by customer id prefix and
    narrowed to an audience (clustering.report.audience); with their e-mail and name when
    `personal`."""
    order_field = MEMBER_SORTS.get(sort, MEMBER_SORTS["monetary"])[1]
    by_customer_id = order_field == "customer__external_id"
    rows: QuerySet = narrow(segment.assignments.all(), audience, segment=segment)
    if search or by_customer_id:
        # The run and the workspace are implied by the segment; said in the query, they let
        # PostgreSQL find members from their customers: by the run's (run, customer) index for
        # a search, and in customer id order from the workspace's (workspace, customer id)
        # index. (A sort of the assignments' own columns is best left to the segment's index.)
        rows = rows.filter(run_id=segment.run_id, customer__workspace_id=segment.run.workspace_id)
    if search:
        # the prefix is a range of the customers' (workspace, id varchar_pattern_ops) index
        rows = rows.filter(customer__external_id__startswith=search)
    # Members not estimated (null) come last either way, on SQLite and PostgreSQL alike. Ties
    # by the assignment's own customer column: a sort that needs no join to the customers
    # is what lets the database stop after one page.
    # The features are never null; their plain order is the one the revenue index holds.
    nulls_last = True if order_field in MEMBER_VALUE_FIELDS else None
    ordering = [
        F(order_field).desc(nulls_last=nulls_last)
        if descending
        else F(order_field).asc(nulls_last=nulls_last),
        "customer_id",
    ]
    contact = MEMBER_CONTACT_VALUES if personal else ()
    rows = rows.order_by(*ordering)
    values = (*MEMBER_VALUES, *contact)
    listed = rows.values(*values) if by_customer_id else _PageOfRows(rows, values)
    size = None if search or audience.narrowed else segment.size
    return _Members(listed, MEMBERS_PER_PAGE, size=size).get_page(page)


class _PageOfRows:
    """A sorted segment read a page at a time in two queries: the page's assignment ids
    (the database sorts the assignments alone and keeps only the page: a top-N sort), then
    those rows with their customers. With the customers joined inside the sort, PostgreSQL
    sorted a 440,000-member segment whole, on disk, for every page (docs/performance.md)."""

    def __init__(self, rows: QuerySet, values: tuple[str, ...]):
        # not named `ordered`: Paginator reads that attribute as a flag, which would evaluate
        # the whole queryset
        self.sorted, self.values = rows, values

    def count(self) -> int:
        return self.sorted.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, page: slice) -> list[dict]:
        ids = list(self.sorted.values_list("pk", flat=True)[page])
        rows = {
            row.pop("pk"): row
            for row in self.sorted.filter(pk__in=ids).order_by().values("pk", *self.values)
        }
        return [rows[pk] for pk in ids]


class _Members(Paginator):
    """Without a search, the segment's stored size is the count: counting a big segment's
    rows took a quarter of a second on every page."""

    def __init__(self, rows, per_page: int, *, size: int | None):
        super().__init__(rows, per_page)
        self._size = size

    @cached_property
    def count(self) -> int:
        return self._size if self._size is not None else super().count
