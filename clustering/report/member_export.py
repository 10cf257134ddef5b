"""The members CSV a marketing tool can take (pages and API): one row per customer with the
segment's name and recommended action, the fit in words and the customer's activity, values
rounded and units in the headers ("Total spend (GBP)", "Days since last purchase"), and the
contact fields (e-mail, name) only for those who may see personal data."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from clustering.engine.vocabulary import FEATURE_LABELS
from clustering.models import Segment, SegmentationRun

from .member_fit import ACTIVITY_BY_WORDS, member_fit

#: What each row reads: customer, segment and the assignment's stored values.
_VALUES = (
    "customer__external_id",
    "customer__email",
    "customer__name",
    "customer__country",
    "customer__last_purchase_at",
    "segment__number",
    "segment__name",
    "segment__action",
    "segment__activity",
    "segment__activity_evidence",
    "confidence",
    "runner_up_number",
    "recency_days",
    "frequency",
    "monetary_total",
    "avg_basket_value",
    "tenure_days",
    "distinct_products",
    "return_rate",
    "mean_days_between_purchases",
    "rfm_segment",
    "p_alive",
    "expected_purchases",
    "expected_value",
    "next_purchase_days",
)


def _columns(*, currency: str, horizon_days: int | None) -> list[tuple[str, str]]:
    """Each column's key and header label, in the export's order (the one list of them). A
    key names the column however its label reads (the currency, the horizon), so an
    integration asks for the ones it reads (?fields=), in its order, and later columns do
    not shift it."""
    ahead = f"next {horizon_days} days" if horizon_days else "run's horizon"
    return [
        ("customer_id", "Customer id"),
        ("email", "E-mail"),
        ("name", "Name"),
        ("country", "Country"),
        ("segment", "Segment"),
        ("action", "Recommended action"),
        ("fit", "Fit"),
        ("last_purchase", "Last purchase"),
        ("activity", "Activity"),
        ("activity_by", "Activity judged by"),
        ("activity_warning", "Activity warning"),
        ("recency_days", FEATURE_LABELS["recency_days"]),  # "Days since last purchase"
        ("frequency", FEATURE_LABELS["frequency"]),
        ("monetary_total", f"Total spend ({currency})"),
        ("avg_basket_value", f"Average basket ({currency})"),
        ("tenure_days", FEATURE_LABELS["tenure_days"]),
        ("distinct_products", FEATURE_LABELS["distinct_products"]),
        ("return_rate_pct", "Return rate (%)"),
        ("mean_days_between_purchases", FEATURE_LABELS["mean_days_between_purchases"]),
        ("rfm_segment", "RFM grid segment"),
        ("p_alive_pct", "Chance still a customer (%)"),
        ("expected_purchases", f"Expected purchases, {ahead}"),
        ("expected_value", f"Expected value, {ahead} ({currency})"),
        ("next_purchase_days", "Next order within, if still active (days, median)"),
    ]


MEMBER_EXPORT_FIELDS = tuple(key for key, _ in _columns(currency="", horizon_days=None))
PERSONAL_FIELDS = ("email", "name")


class FieldsRefused(ValueError):
    """The fields asked for are not the export's, or are personal data the user may not see."""


def member_export_fields(requested: str | list[str] | None, *, personal: bool) -> list[str] | None:
    """The columns asked for (``fields=customer_id,segment``, or the parameter given once per
    column, as the page's boxes send it), each once in the order given; None for the whole
    export. Raises FieldsRefused naming those it cannot give."""
    given = [requested] if isinstance(requested, str) else list(requested or [])
    fields = list(dict.fromkeys(f.strip() for text in given for f in text.split(",") if f.strip()))
    if not fields:
        return None
    unknown = [f for f in fields if f not in MEMBER_EXPORT_FIELDS]
    if unknown:
        raise FieldsRefused(
            f"No such field: {', '.join(unknown)}. The fields are "
            f"{', '.join(MEMBER_EXPORT_FIELDS)}."
        )
    hidden = [f for f in fields if f in PERSONAL_FIELDS and not personal]
    if hidden:
        raise FieldsRefused(f"{', '.join(hidden)}: personal data, which this user may not see.")
    return fields


#: The columns a marketer most often takes to a mailing tool: the page's boxes start so.
CHOSEN_FIRST = ("customer_id", "email", "name", "segment", "action", "activity", "expected_value")


def member_export_choices(
    *, currency: str, personal: bool, horizon_days: int | None
) -> list[tuple[str, str]]:
    """(key, label) of each column this user may take, for the page's column boxes."""
    columns = _columns(currency=currency, horizon_days=horizon_days)
    return [(key, label) for key, label in columns if personal or key not in PERSONAL_FIELDS]


def member_export_header(
    *, currency: str, personal: bool, horizon_days: int | None, fields: list[str] | None = None
) -> list[str]:
    """The header line: the columns' labels, or with `fields` (member_export_fields) their
    keys, which do not change with the shop's currency or the run's horizon."""
    if fields is not None:
        return list(fields)
    choices = member_export_choices(currency=currency, personal=personal, horizon_days=horizon_days)
    return [label for _, label in choices]


def _rounded(value, digits: int):
    """A number rounded for a spreadsheet (a whole number as an int); "" when missing."""
    if value is None or not math.isfinite(float(value)):
        return ""
    number = round(float(value), digits)
    return int(number) if digits == 0 else number


def _percent(share, digits: int):
    return "" if share is None else _rounded(float(share) * 100, digits)


def _day(moment: datetime | None) -> str:
    """The day as ISO 8601 (2011-12-09), in the shop's time zone: any tool reads it."""
    return "" if moment is None else timezone.localtime(moment).date().isoformat()


def member_export_rows(
    assignments: QuerySet,
    *,
    run: SegmentationRun,
    personal: bool,
    fields: list[str] | None = None,
) -> Iterator[list]:
    """The rows for `assignments` (of one run, read in its workspace), in customer id order;
    with `fields`, those columns only, in that order."""
    rows = _whole_rows(assignments, run=run, personal=personal)
    if fields is None:
        yield from rows
        return
    keys = [f for f in MEMBER_EXPORT_FIELDS if personal or f not in PERSONAL_FIELDS]
    picked = [keys.index(f) for f in fields]
    for row in rows:
        yield [row[i] for i in picked]


def _whole_rows(assignments: QuerySet, *, run: SegmentationRun, personal: bool) -> Iterator[list]:
    names = dict(
        Segment.objects.in_workspace(run.workspace_id).filter(run=run).values_list("number", "name")
    )
    rhythm = run.activity_rhythm or {}
    rows: Iterable[tuple] = (
        assignments.order_by("customer__external_id")
        .values_list(*_VALUES)
        .iterator(chunk_size=2000)
    )
    for (customer_id, email, name, country, last_purchase, _number, segment, action,
         segment_activity, evidence, confidence, runner_up, recency, frequency, monetary,
         basket, tenure, products, return_rate, between, rfm, p_alive, purchases, value,
         next_purchase) in rows:  # fmt: skip
        fit = member_fit(
            confidence=confidence,
            runner_up_number=runner_up,
            recency_days=recency,
            algorithm=run.chosen_algorithm,
            segment_names=names,
            segment_activity=segment_activity,
            rhythm=rhythm,
            p_alive=p_alive,
            evidence=evidence,
        )
        yield [
            customer_id,
            *((email, name) if personal else ()),
            country,
            segment,
            action,
            fit.words,
            _day(last_purchase),
            fit.activity or "",
            ACTIVITY_BY_WORDS[fit.activity_by] if fit.activity else "",
            fit.warning,
            _rounded(recency, 0),
            _rounded(frequency, 0),
            _rounded(monetary, 2),
            _rounded(basket, 2),
            _rounded(tenure, 0),
            _rounded(products, 0),
            _percent(return_rate, 1),
            _rounded(between, 1),
            rfm,
            _percent(p_alive, 0),
            _rounded(purchases, 1),
            _rounded(value, 2),
            _rounded(next_purchase, 0),
        ]
