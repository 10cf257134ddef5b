"""The customers behind one movement between two published runs: those in segment `source`
of the earlier run (None: not in it, new) and in segment `target` of the later run (None: not
in it, gone), each with their segment and revenue in both runs, for the movement's page and
its CSV: one query. The runs were read in the workspace."""

from __future__ import annotations

from django.db.models import F, OuterRef, QuerySet, Subquery

from customers.models import Customer

from .models import SegmentAssignment, SegmentationRun
from .movements import flow_customers

#: The CSV's columns, in the order movement_member_rows gives them.
MOVEMENT_CSV_HEADER = (
    "customer_id",
    "country",
    "earlier_segment_number",
    "earlier_segment_name",
    "earlier_revenue",
    "later_segment_number",
    "later_segment_name",
    "later_revenue",
)


def movement_members(
    *,
    workspace,
    earlier: SegmentationRun,
    later: SegmentationRun,
    source: int | None,
    target: int | None,
) -> QuerySet[Customer]:
    """The customers behind one flow (clustering.movements.flow_customers: segment number
    `source` of `earlier` to `target` of `later`, None on one side: absent from that run),
    annotated with earlier_/later_ segment_number, segment_name and revenue (the run's net
    spend, monetary_total); the biggest earlier spenders first."""
    customers = flow_customers(
        workspace=workspace, earlier_run=earlier, later_run=later, source=source, target=target
    )
    assignments = SegmentAssignment.objects.in_workspace(workspace)
    annotations = {}
    for prefix, run in (("earlier", earlier), ("later", later)):
        mine = assignments.filter(run=run, customer_id=OuterRef("pk"))
        annotations[f"{prefix}_segment_number"] = Subquery(mine.values("segment__number")[:1])
        annotations[f"{prefix}_segment_name"] = Subquery(mine.values("segment__name")[:1])
        annotations[f"{prefix}_revenue"] = Subquery(mine.values("monetary_total")[:1])
    return customers.annotate(**annotations).order_by(
        F("earlier_revenue").desc(nulls_last=True),
        F("later_revenue").desc(nulls_last=True),
        "external_id",
    )


def movement_member_rows(members: QuerySet[Customer]):
    """The members as CSV rows (MOVEMENT_CSV_HEADER), by customer id."""
    fields = ("external_id", "country", *MOVEMENT_CSV_HEADER[2:])
    return members.order_by("external_id").values_list(*fields)
