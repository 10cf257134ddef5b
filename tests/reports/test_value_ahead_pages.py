"""Value ahead on the pages: the segment page (figures, member columns, sorting, CSV), the
dashboard (figures, order by expected value) and the customer lookup show the stored numbers,
and a run that did not estimate them says "not estimated" instead."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils.html import escape

from clustering.models import Segment, SegmentationRun
from reports.templatetags.report_format import day, days, money, num, pct
from tests.reports.value_ahead_data import VALUE_FIELDS, clear_value_ahead, store_value_ahead

pytestmark = pytest.mark.django_db

GBP = "£"  # the test shop's currency (tests/shops.py)


@pytest.fixture
def estimated(site):
    store_value_ahead(site.published)
    site.published.refresh_from_db()
    return site


@pytest.fixture
def not_estimated(site):
    clear_value_ahead(site.published)
    site.published.refresh_from_db()
    return site


def largest_segment(run) -> Segment:
    return run.segments.order_by("-size", "number").first()


def text(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


# ------------------------------------------------------------------------------ segment page
def test_segment_page_shows_the_segments_stored_value_ahead(estimated, client_for):
    segment = largest_segment(estimated.published)
    page = text(client_for("marketing").get(segment.get_absolute_url()))
    assert "Value ahead: the next 90 days" in page
    assert f'data-field="expected_value">{money(segment.expected_value, GBP)}<' in page
    assert f'data-field="share_expected_value">{pct(segment.share_expected_value)}<' in page
    assert f'data-field="value_per_customer">{money(segment.value_per_customer, GBP)}<' in page
    assert f'data-field="median_p_alive">{pct(segment.median_p_alive)}<' in page
    assert "counted at 100% of revenue, discounted at 10% a year" in page


def test_segment_page_member_columns_show_each_members_stored_values(estimated, client_for):
    segment = largest_segment(estimated.published)
    response = client_for("marketing").get(segment.get_absolute_url(), {"sort": "customer"})
    page = text(response)
    labels = ("P(alive)", "Expected purchases", "Expected value", "Next order within, if active")
    for label in labels:
        assert f">{label}<" in page
    rows = response.context["page"].object_list
    stored = {a.customer.external_id: a for a in segment.assignments.select_related("customer")}
    no_repeat = page.count('data-role="p-alive-no-repeat"')
    judged = 0
    for row in rows:
        a = stored[row["customer__external_id"]]
        assert {f: row[f] for f in VALUE_FIELDS} == {f: getattr(a, f) for f in VALUE_FIELDS}
        if a.p_alive is not None:
            # bought on one day only: P(alive) is 1 by the model's definition, so it is not
            # shown as a figure
            if a.recency_days == a.tenure_days:
                continue
            judged += 1
            assert f'<td class="num">{pct(a.p_alive, 0)}</td>' in page
            assert f'<td class="num">{num(a.expected_purchases, 2)}</td>' in page
            assert f'<td class="num">{money(a.expected_value, GBP)}</td>' in page
    ones = [r for r in rows if r["p_alive"] is not None and r["recency_days"] == r["tenure_days"]]
    assert no_repeat == len(ones) and ones and judged  # both kinds are on the page
    shown = re.findall(r'<td class="num" data-role="next-order">([^<]*)</td>', page)
    assert shown == [days(r["next_purchase_days"]) for r in rows if r["next_purchase_days"]]


def test_members_sorted_by_next_order_put_who_is_due_first(estimated, client_for):
    segment = largest_segment(estimated.published)
    response = client_for("marketing").get(
        segment.get_absolute_url(), {"sort": "next_order", "dir": "asc"}
    )
    assert ">Next order within, if active" in text(response)
    waits = [r["next_purchase_days"] for r in response.context["page"].object_list]
    due = [w for w in waits if w is not None]
    assert due == sorted(due) and waits[: len(due)] == due  # the not estimated come last
    soonest = segment.assignments.filter(next_purchase_days__isnull=False)
    assert due[0] == soonest.order_by("next_purchase_days")[0].next_purchase_days


def member_row(client, segment, customer_id: str) -> str:
    page = text(client.get(segment.get_absolute_url(), {"search": customer_id}))
    rows = [row for row in page.split("<tr") if f">{customer_id}<" in row]
    assert len(rows) == 1
    return rows[0]


def test_two_orders_on_one_day_are_no_repeat_purchase_on_the_pages(estimated, client_for):
    # BG/NBD counts purchase days: two orders on one day leave P(alive) at 1 by definition
    segment = largest_segment(estimated.published)
    a = segment.assignments.filter(p_alive__isnull=False, frequency__gte=2).first()
    a.tenure_days = a.recency_days
    a.save(update_fields=["tenure_days"])
    client, customer_id = client_for("marketing"), a.customer.external_id
    row = member_row(client, segment, customer_id)
    assert 'data-role="p-alive-no-repeat"' in row and "— (no repeat purchase)" in row
    assert f'<td class="num">{pct(a.p_alive, 0)}</td>' not in row

    lookup = text(client.get(reverse("customer-lookup"), {"customer_id": customer_id}))
    assert 'data-field="p_alive">not judged: no repeat purchase' in lookup

    a.tenure_days = a.recency_days + 30  # bought again a month after the first order
    a.save(update_fields=["tenure_days"])
    row = member_row(client, segment, customer_id)
    assert 'data-role="p-alive-no-repeat"' not in row
    assert f'<td class="num">{pct(a.p_alive, 0)}</td>' in row


@pytest.mark.parametrize("field", ["p_alive", "expected_purchases", "expected_value"])
@pytest.mark.parametrize("direction", ["desc", "asc"])
def test_members_sort_by_value_ahead_with_the_not_estimated_last(
    estimated, client_for, field, direction
):
    segment = largest_segment(estimated.published)
    response = client_for("marketing").get(
        segment.get_absolute_url(), {"sort": field, "dir": direction}
    )
    assert response.status_code == 200
    column = next(c for c in response.context["columns"] if c["key"] == field)
    assert column["current"] is True
    shown = [row[field] for row in response.context["page"].object_list]
    values = sorted(
        segment.assignments.filter(**{f"{field}__isnull": False}).values_list(field, flat=True),
        reverse=direction == "desc",
    )
    assert shown == (values + [None])[: len(shown)]


def test_segment_page_of_a_run_without_value_ahead_says_not_estimated(not_estimated, client_for):
    segment = largest_segment(not_estimated.published)
    client = client_for("marketing")
    page = text(client.get(segment.get_absolute_url()))
    assert "Not estimated: this run did not estimate" in page
    assert "not estimated for this run" in page
    assert 'data-field="expected_value"' not in page
    for field in VALUE_FIELDS:  # still sortable, nothing breaks
        assert client.get(segment.get_absolute_url(), {"sort": field}).status_code == 200


#: The members CSV's value-ahead columns (clustering/report/member_export.py), in a
#: marketing tool's terms: P(alive) as a whole percentage, the others rounded.
CSV_VALUE_COLUMNS = {
    "p_alive": ("Chance still a customer (%)", lambda v: round(v * 100)),
    "expected_purchases": ("Expected purchases, next {h} days", lambda v: round(v, 1)),
    "expected_value": ("Expected value, next {h} days (GBP)", lambda v: round(v, 2)),
    "next_purchase_days": ("Next order within, if still active (days, median)", round),
}


def _value_columns(run) -> dict[str, str]:
    horizon = (run.value_ahead or {}).get("horizon_days") or run.params.get(
        "value_horizon_days", 90
    )
    return {f: header.format(h=horizon) for f, (header, _) in CSV_VALUE_COLUMNS.items()}


def test_member_csv_has_the_value_ahead_columns_with_the_stored_values(estimated, client_for):
    segment = largest_segment(estimated.published)
    url = reverse("clustering:segment-members-csv", args=[estimated.published.pk, segment.number])
    response = client_for("marketing").get(url)
    rows = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    )
    columns = _value_columns(estimated.published)
    assert list(rows[0])[-len(columns) :] == list(columns.values())
    stored = {
        a.customer.external_id: {
            f: None if getattr(a, f) is None else CSV_VALUE_COLUMNS[f][1](getattr(a, f))
            for f in VALUE_FIELDS
        }
        for a in segment.assignments.select_related("customer")
    }
    got = {
        r["Customer id"]: {f: float(r[c]) if r[c] else None for f, c in columns.items()}
        for r in rows
    }
    assert got == stored
    assert sum(v["p_alive"] is None for v in got.values()) == 1


def test_member_csv_of_a_run_without_value_ahead_has_empty_cells(not_estimated, client_for):
    segment = largest_segment(not_estimated.published)
    url = reverse(
        "clustering:segment-members-csv", args=[not_estimated.published.pk, segment.number]
    )
    response = client_for("marketing").get(url)
    rows = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    )
    assert len(rows) == segment.size
    value_columns = list(rows[0])[-4:]  # the value-ahead columns, the run's horizon unknown
    assert value_columns[0] == "Chance still a customer (%)"
    assert {r[c] for r in rows for c in value_columns} == {""}


# ------------------------------------------------------------------------------ dashboard
def test_dashboard_shows_each_segments_value_ahead_and_orders_by_it(estimated, client_for):
    client = client_for("marketing")
    segments = list(estimated.published.segments.order_by("number"))
    page = text(client.get(reverse("home")))
    assert "Value ahead: the next 90 days" in page
    assert "Expected value, next 90 days" in page
    for segment in segments:
        value = money(segment.expected_value, GBP)
        assert f'data-value="{segment.expected_value}">{value}<' in page
        assert f"{pct(segment.share_expected_value)}" in page
        assert f'data-value="{segment.median_p_alive}">{pct(segment.median_p_alive)}<' in page
        assert (
            f'data-value="{segment.value_per_customer}">{money(segment.value_per_customer, GBP)}<'
            in page
        )
    by_value = sorted(segments, key=lambda s: -s.expected_value)
    table = page[page.index('id="value-table"') :]
    positions = [table.index(f">{escape(s.name)}</a>") for s in by_value]
    assert positions == sorted(positions)  # the table: highest expected value first

    by_revenue = client.get(reverse("home"))  # the default order (tests/reports/test_dashboard)
    shares = [s["share_revenue"] for s in by_revenue.context["segments"]]
    assert shares == sorted(shares, reverse=True)
    ordered = client.get(reverse("home"), {"order": "value"})
    assert [s["number"] for s in ordered.context["segments"]] == [s.number for s in by_value]
    assert '<strong aria-current="true">expected value</strong>' in ordered.content.decode()


def test_dashboard_says_whose_p_alive_it_shows_and_how_the_forecast_held_up(site, client_for):
    """The median P(alive) is over repeat buyers (one-time buyers are alive by the model's
    definition); the holdout check's verdict stands under the table."""
    store_value_ahead(site.published)
    one_time = largest_segment(site.published)
    Segment.unscoped.filter(pk=one_time.pk).update(median_p_alive=None)
    run = SegmentationRun.unscoped.get(pk=site.published.pk)
    holdout = {"calibration_end": "2011-09-01", "holdout_weeks": 14.0, "predicted": 751.0,
               "actual": 1000, "error": -0.249}  # fmt: skip
    SegmentationRun.unscoped.filter(pk=run.pk).update(
        value_ahead={**run.value_ahead, "median_p_alive_of": "repeat_buyers", "holdout": holdout}
    )
    marketing = client_for("marketing")
    page = text(marketing.get(reverse("home")))
    assert ">Median P(alive) of repeat buyers</th>" in page
    assert '<td class="num" data-value="">— (none bought again)</td>' in page
    assert "each segment's median is over its customers who bought again" in page
    check = page[page.index('data-role="value-check"') :]
    assert "predicted 751 repeat purchases, customers made 1,000 (-24.9%)" in check
    assert "Rough: read the values as an order of magnitude" in check
    assert "the check on the run report" not in check  # marketing does not read run reports
    manager = text(client_for("manager").get(reverse("home")))
    assert f'/runs/{run.pk}/#value-ahead">the check on the run report</a>' in manager
    # A segment's page gives the same verdict beside its figures: an "At risk" segment
    # with a median P(alive) of 99.9% reads differently once the forecast is called rough.
    segment = Segment.unscoped.filter(run=run).exclude(pk=one_time.pk).first()
    seg_page = text(marketing.get(segment.get_absolute_url()))
    values = seg_page[seg_page.index('id="value-heading"') : seg_page.index('id="members-heading"')]
    assert "predicted 751 repeat purchases, customers made 1,000 (-24.9%)" in values
    assert "Rough: read the values as an order of magnitude" in values
    # and so does the customer lookup, beside the customer's own figures
    estimated = site.published.assignments.filter(segment=segment, p_alive__isnull=False)
    member = estimated.select_related("customer").order_by("customer__external_id")[0]
    asked = {"customer_id": member.customer.external_id}
    lookup = text(marketing.get(reverse("customer-lookup"), asked))
    own = lookup[lookup.index('id="value-heading"') :]
    assert "Rough: read the values as an order of magnitude" in own


def test_dashboard_of_a_run_stored_before_says_median_p_alive_and_no_check(estimated, client_for):
    marketing = client_for("marketing")
    page = text(marketing.get(reverse("home")))
    assert ">Median P(alive)</th>" in page
    assert "Not checked on a held-out period" in page
    segment = largest_segment(estimated.published)
    assert "Not checked on a held-out period" in text(marketing.get(segment.get_absolute_url()))


def test_dashboard_of_a_run_without_value_ahead_says_not_estimated(not_estimated, client_for):
    client = client_for("marketing")
    page = text(client.get(reverse("home"), {"order": "value"}))
    assert "Not estimated: the published run did not estimate" in page
    assert 'id="value-table"' not in page
    assert "Order segments by" not in page


# ------------------------------------------------------------------------------ lookup
def test_customer_lookup_shows_the_customers_stored_value_ahead(estimated, client_for):
    estimated_ones = estimated.published.assignments.filter(p_alive__isnull=False)
    repeat_buyers = estimated_ones.exclude(recency_days=F("tenure_days"))
    a = repeat_buyers.select_related("customer").first()
    url, client = reverse("customer-lookup"), client_for("marketing")
    page = text(client.get(url, {"customer_id": a.customer.external_id}))
    assert "Value ahead: the next 90 days" in page
    assert f'data-field="p_alive">{pct(a.p_alive)}<' in page
    assert f'data-field="expected_purchases">{num(a.expected_purchases, 2)}<' in page
    assert f'data-field="expected_value">{money(a.expected_value, GBP)}<' in page
    # when the next order is due if still a customer: the wait and the day it ends
    by = estimated.published.reference_date + timedelta(days=round(a.next_purchase_days))
    assert f'data-field="next_purchase_days">within {days(a.next_purchase_days)}, by {day(by)}' in (
        page
    )
    # a run without a date: the wait alone, never "not expected"
    SegmentationRun.unscoped.filter(pk=estimated.published.pk).update(reference_date=None)
    undated = text(client.get(url, {"customer_id": a.customer.external_id}))
    assert f'data-field="next_purchase_days">within {days(a.next_purchase_days)} <' in undated
    SegmentationRun.unscoped.filter(pk=estimated.published.pk).update(
        reference_date=estimated.published.reference_date
    )

    once = estimated_ones.filter(frequency=1).select_related("customer").first()
    type(once).unscoped.filter(pk=once.pk).update(next_purchase_days=6716.0)
    page = text(client.get(url, {"customer_id": once.customer.external_id}))
    assert 'data-field="p_alive">not judged: no repeat purchase' in page
    assert f'data-field="expected_value">{money(once.expected_value, GBP)}<' in page
    assert 'data-field="next_purchase_days">not expected within ten years' in page


def test_customer_lookup_says_not_estimated(not_estimated, client_for):
    a = not_estimated.published.assignments.select_related("customer")
    customer_id = a.first().customer.external_id
    page = text(
        client_for("marketing").get(reverse("customer-lookup"), {"customer_id": customer_id})
    )
    assert "Not estimated in the published segmentation." in page


def test_customer_lookup_history_shows_each_runs_expected_value(site, client_for):
    """The earlier run estimated value ahead, the current one did not: each row its own."""
    store_value_ahead(site.earlier, skip_last=False)
    clear_value_ahead(site.published)
    earlier = site.earlier.assignments.select_related("customer").first()
    page = text(
        client_for("marketing").get(
            reverse("customer-lookup"), {"customer_id": earlier.customer.external_id}
        )
    )
    history = page[page.index('id="history-heading"') :]
    assert f'<td class="num">{money(earlier.expected_value, GBP)}</td>' in history
