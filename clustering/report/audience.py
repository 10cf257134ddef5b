"""A segment's members narrowed to a campaign's audience: by each customer's own activity
(active, cooling, lapsed, as the members list words it), by when their next order is due (the
members list's "next order within, if active") and by country. One reading of the filters
serves the members page, its CSV and the API, so what a marketer sees listed is what they
download."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet

from clustering.engine.activity import P_ALIVE_LAPSED
from clustering.models import Segment, SegmentationRun
from common.derived_cache import customers_version
from common.outages import OUTAGE_ERRORS

from .member_fit import customer_activity

#: The activities a member may be chosen by, in customer_activity's words.
ACTIVITIES = ("active", "cooling", "lapsed")
COUNTRY_LENGTH = 80  # customers.Customer.country
#: The page's choices of "next order within" (days); the API takes any day count up to ten
#: years, the longest wait the lookup dates (reports.views.NEXT_ORDER_DATED_DAYS).
DUE_WITHIN_CHOICES = (7, 14, 30, 60, 90)
DUE_WITHIN_MAX = 3650
COUNTRIES_CACHE_SECONDS = 24 * 3600


class AudienceRefused(ValueError):
    """A filter that cannot be read; the message names what to send instead."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Audience:
    activity: str = ""
    country: str = ""
    due_within: int | None = None  # days: next order due within, if still a customer

    @property
    def narrowed(self) -> bool:
        return bool(self.activity or self.country or self.due_within)

    def query(self) -> dict[str, str]:
        """The filters as query parameters, for links that keep them."""
        due = str(self.due_within) if self.due_within else ""
        pairs = (("activity", self.activity), ("due_within", due), ("country", self.country))
        return {k: v for k, v in pairs if v}

    def words(self) -> str:
        """ "cooling, next order within 14 days, in France": what the export's audit entry and
        the page say."""
        parts = [self.activity] if self.activity else []
        if self.due_within:
            parts.append(f"next order within {_days(self.due_within)}")
        if self.country:
            parts.append(f"in {self.country}")
        return ", ".join(parts)

    def export_words(self) -> str:
        """What a segment's members export holds, for its audit entry."""
        narrowed = f" ({self.words()})" if self.narrowed else ""
        return f"one segment's members{narrowed}"

    def file_suffix(self) -> str:
        """ "-cooling-next-order-14-days-france" for the CSV's name ("" when not narrowed)."""
        due = f"next order {_days(self.due_within)}" if self.due_within else ""
        text = "-".join(v.lower() for v in (self.activity, due, self.country) if v)
        slug = "".join(c if c.isalnum() else "-" for c in text).strip("-")
        return f"-{slug}" if slug else ""


def _days(n: int | None) -> str:
    return "1 day" if n == 1 else f"{n} days"


EVERYONE = Audience()


def audience_from(params: Mapping[str, str], *, run: SegmentationRun) -> Audience:
    """The audience the query asks of ``run``'s members; AudienceRefused naming the parameter
    when it cannot be read (an unknown activity, or one asked of a run that did not measure
    the rhythm; a next order asked of a run that did not estimate them)."""
    activity = (params.get("activity") or "").strip().lower()
    country = (params.get("country") or "").strip()
    if activity:
        if activity not in ACTIVITIES:
            raise AudienceRefused(
                "activity", f"Activity must be one of {', '.join(ACTIVITIES)} (or none)."
            )
        if not _measures_rhythm(run):
            raise AudienceRefused(
                "activity",
                "This run did not measure the shop's rhythm, so its members have no activity "
                "to choose them by.",
            )
    if len(country) > COUNTRY_LENGTH:
        raise AudienceRefused("country", f"A country is at most {COUNTRY_LENGTH} characters.")
    return Audience(activity=activity, country=country, due_within=_due_within(params, run))


def audience_choices(run: SegmentationRun) -> dict[str, tuple]:
    """What the members page offers to choose by: what audience_from accepts of this run."""
    return {
        "activities": ACTIVITIES if _measures_rhythm(run) else (),
        "due_choices": DUE_WITHIN_CHOICES if _estimates_next_orders(run) else (),
    }


def _measures_rhythm(run: SegmentationRun) -> bool:
    return customer_activity(0, run.activity_rhythm) is not None


def _estimates_next_orders(run: SegmentationRun) -> bool:
    return bool(run.value_ahead)


def _due_within(params: Mapping[str, str], run: SegmentationRun) -> int | None:
    text = (params.get("due_within") or "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= DUE_WITHIN_MAX:
        raise AudienceRefused(
            "due_within",
            f"Next order within must be a whole number of days from 1 to {DUE_WITHIN_MAX:,}.",
        )
    if not _estimates_next_orders(run):
        raise AudienceRefused(
            "due_within",
            "This run did not estimate its members' next orders (no value ahead), so they "
            "cannot be chosen by it.",
        )
    return int(text)


def narrow(assignments: QuerySet, audience: Audience, *, segment: Segment) -> QuerySet:
    """The assignments (of ``segment``) of the audience's members: their activity as
    customer_activity judges it (by the run's recency, or by P(alive) for repeat buyers where
    it named the segment's activity), their next order as the run estimated it, their
    country as stored."""
    if audience.activity:
        rhythm, evidence = segment.run.activity_rhythm, segment.activity_evidence
        assignments = assignments.filter(_activity_query(audience.activity, rhythm, evidence))
    if audience.due_within:
        assignments = assignments.filter(next_purchase_days__lte=audience.due_within)
    if audience.country:
        assignments = assignments.filter(customer__country=audience.country)
    return assignments


def _activity_query(activity: str, rhythm: dict | None, evidence: str) -> Q:
    """customer_activity's rule as a filter (a test holds the two to the same members)."""
    rhythm = rhythm or {}
    active, lapsed = float(rhythm["active_days"]), float(rhythm["lapsed_days"])
    by_days = {
        "active": Q(recency_days__lte=active),
        "cooling": Q(recency_days__gt=active, recency_days__lte=lapsed),
        "lapsed": Q(recency_days__gt=lapsed),
    }[activity]
    cut = rhythm.get("p_alive_active")
    if evidence != "p_alive" or cut is None:
        return by_days
    # P(alive) judges the repeat buyers (below 1); the one-time buyers and those without
    # one keep the days (engine.activity.status_by_p_alive)
    by_p_alive = {
        "active": Q(p_alive__gte=float(cut), p_alive__lt=1.0),
        "cooling": Q(p_alive__gte=P_ALIVE_LAPSED, p_alive__lt=float(cut)),
        "lapsed": Q(p_alive__lt=P_ALIVE_LAPSED),
    }[activity]
    return by_p_alive | ((Q(p_alive__isnull=True) | Q(p_alive__gte=1.0)) & by_days)


def segment_countries(segment: Segment) -> list[str]:
    """The countries of the segment's members, most members first; cached, since a big
    segment's are a scan of its members and they change only with its customers. With the
    cache down they are read each time: the segment page needs no cache."""
    key = f"segment-countries:{segment.pk}:{customers_version(segment.run.workspace_id)}"
    try:
        countries = cache.get(key)
    except OUTAGE_ERRORS:
        return _countries(segment)
    if countries is None:
        countries = _countries(segment)
        with contextlib.suppress(*OUTAGE_ERRORS):
            cache.set(key, countries, COUNTRIES_CACHE_SECONDS)
    return countries


def _countries(segment: Segment) -> list[str]:
    return list(
        segment.assignments.exclude(customer__country="")
        .values("customer__country")
        .annotate(members=Count("pk"))
        .order_by("-members", "customer__country")
        .values_list("customer__country", flat=True)
    )
