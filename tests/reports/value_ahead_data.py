"""Value ahead written straight onto a stored run's rows, as the run's value stage would store
it, so the pages and the API can be tested against known numbers whether or not the run
itself estimated them (and against nulls, as runs made before the value stage hold)."""

from __future__ import annotations

import statistics

from clustering.models import Segment, SegmentAssignment, SegmentationRun

VALUE_FIELDS = ("p_alive", "expected_purchases", "expected_value", "next_purchase_days")
SEGMENT_VALUE_FIELDS = ("expected_value", "share_expected_value", "value_per_customer",
                        "median_p_alive")  # fmt: skip
HORIZON_DAYS = 90


def store_value_ahead(run: SegmentationRun, *, skip_last: bool = True) -> None:
    """Made-up, distinct numbers for every member (the last of each segment, by customer id,
    left not estimated when `skip_last`), and each segment's totals from them."""
    segments = list(run.segments.order_by("number"))
    totals = {}
    for segment in segments:
        members = list(segment.assignments.order_by("customer__external_id"))
        estimated = members[:-1] if skip_last and len(members) > 1 else members
        for i, a in enumerate(estimated):
            a.p_alive = round(0.05 + 0.9 * ((i * 37 + segment.number * 11) % 100) / 100, 4)
            a.expected_purchases = round(0.25 + (i % 7) * 0.75 + segment.number, 4)
            a.expected_value = round(10.25 + (i * 13) % 500 + 1000 * segment.number, 2)
            a.next_purchase_days = round(3.4 + (i * 17) % 400 + segment.number, 2)
        for a in members[len(estimated) :]:
            a.p_alive = a.expected_purchases = a.expected_value = a.next_purchase_days = None
        SegmentAssignment.unscoped.bulk_update(members, VALUE_FIELDS)
        totals[segment.pk] = (
            sum(a.expected_value for a in estimated),
            statistics.median(a.p_alive for a in estimated),
        )
    grand_total = sum(total for total, _ in totals.values())
    for segment in segments:
        total, median_p_alive = totals[segment.pk]
        segment.expected_value = total
        segment.share_expected_value = total / grand_total
        segment.value_per_customer = total / segment.size
        segment.median_p_alive = median_p_alive
    Segment.unscoped.bulk_update(segments, SEGMENT_VALUE_FIELDS)
    SegmentationRun.unscoped.filter(pk=run.pk).update(
        value_ahead={
            "horizon_days": HORIZON_DAYS,
            "discount_rate": 0.1,
            "margin": 1.0,
            "total_expected_value": grand_total,
        }
    )


def clear_value_ahead(run: SegmentationRun) -> None:
    """The run as one made before the value stage: every value-ahead field null, no stage."""
    run.assignments.update(**dict.fromkeys(VALUE_FIELDS))
    run.segments.update(**dict.fromkeys(SEGMENT_VALUE_FIELDS))
    SegmentationRun.unscoped.filter(pk=run.pk).update(value_ahead={})
