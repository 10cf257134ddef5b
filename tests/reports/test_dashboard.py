"""The dashboard as marketing reads it: the most valuable segments first, spend per customer
in the shop's currency, one colour per segment on cards and chart, the publication in words,
and the worker's state only for those who can act on it."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from html import unescape

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from clustering.models import SegmentationRun

pytestmark = pytest.mark.django_db

CARD = re.compile(
    r'<li class="card segment-card seg-(\d+)" data-segment="(\d+)" data-colour="(\d+)">'
    r'\s*<h3><a href="[^"]*">([^<]*)</a></h3>(.*?)</li>',
    re.S,
)


def cards(html: str) -> list[dict]:
    """The segment cards in page order: number, name, colour (class and data), body."""
    return [
        {
            "class_colour": int(cls),
            "number": int(number),
            "colour": int(colour),
            "name": unescape(name),
            "body": body,
        }
        for cls, number, colour, name, body in CARD.findall(html)
    ]


def chart_data(html: str) -> dict:
    script = re.search(
        r'<script id="share-data" type="application/json">(.*?)</script>', html, re.S
    )
    return json.loads(script.group(1))


def dashboard(client, **query) -> str:
    return client.get(reverse("home"), query).content.decode()


def test_segments_come_in_order_of_their_stored_revenue_share(site, client_for):
    client = client_for("marketing")
    html = dashboard(client)
    stored = {s.number: s.share_revenue for s in site.published.segments.all()}
    shown = [card["number"] for card in cards(html)]
    assert sorted(shown) == sorted(stored)
    assert [stored[n] for n in shown] == sorted(stored.values(), reverse=True)
    # A request for an order the run cannot give falls back to revenue share.
    assert [c["number"] for c in cards(dashboard(client, order="size"))] == shown


def test_each_card_shows_spend_per_customer_in_the_shops_currency(site, client_for):
    html = dashboard(client_for("marketing"))
    symbol = site.workspace.currency_symbol
    for card in cards(html):
        segment = site.published.segments.get(number=card["number"])
        revenue = segment.assignments.aggregate(total=Sum("monetary_total"))["total"]
        shown = re.search(r'data-field="spend_per_customer">([^<]*)<', card["body"]).group(1)
        # an average, said as one: the card's "why" line gives the median member's spend
        assert "Average spend per customer" in card["body"]
        assert shown.startswith(symbol), shown
        amount = float(shown.removeprefix(symbol).replace(",", ""))
        assert amount == pytest.approx(revenue / segment.size, abs=0.006)


def test_the_publication_is_named_with_its_date_publisher_and_role(site, client_for):
    run = site.published
    day = date_format(timezone.localtime(run.published_at), "j M Y")
    client = client_for("marketing")
    html = dashboard(client)
    assert f"Published {day} by site-manager (manager): Spring review" in html

    site.manager.first_name, site.manager.last_name = "Maria", ""
    site.manager.save(update_fields=["first_name", "last_name"])
    try:
        html = dashboard(client)
        assert f"Published {day} by Maria (manager): Spring review" in html
    finally:
        site.manager.first_name = ""
        site.manager.save(update_fields=["first_name"])


def test_an_unnamed_run_gets_a_readable_name_not_a_number():
    run = SegmentationRun(pk=12, name="", reference_date=date(2011, 12, 10))
    assert run.display_name == "Segmentation as of 10 Dec 2011"
    assert SegmentationRun(pk=3, name="Spring review").display_name == "Spring review"
    # the run's own pages, lists and the schedule's words name it the same way
    assert str(run) == run.display_name
    # a run without a reference date is as of the day it succeeded, not the day it stopped
    ended = timezone.make_aware(datetime(2026, 12, 4, 12))
    assert SegmentationRun(status="succeeded", finished_at=ended).display_name == (
        "Segmentation as of 4 Dec 2026"
    )
    for stopped in ("failed", "cancelled"):
        assert SegmentationRun(status=stopped, finished_at=ended).display_name == "Segmentation"


def test_marketing_does_not_see_the_worker_while_a_manager_does(site, client_for):
    marketing = dashboard(client_for("marketing"))
    assert "Background worker" not in marketing and "Check the worker" not in marketing
    assert 'id="system-heading"' not in marketing
    manager = dashboard(client_for("manager"))
    assert "Background worker" in manager and "Check the worker" in manager


@pytest.mark.parametrize("order", ["revenue", "value"])
def test_the_charts_bars_wear_the_cards_colour_of_each_segment(site, client_for, order):
    html = dashboard(client_for("marketing"), order=order)
    shown = cards(html)
    by_name = {card["name"]: card["colour"] for card in shown}
    assert all(card["class_colour"] == card["colour"] for card in shown)
    assert len(set(by_name.values())) == len(shown)  # one colour per segment
    chart = chart_data(html)
    assert dict(zip(chart["labels"], chart["colours"], strict=True)) == by_name
    # Customers and revenue are two series told apart by fill, not by a segment colour.
    assert len(chart["customers"]) == len(chart["revenue"]) == len(shown)
    assert "pale, outlined bar is its share of customers" in html
    # Colours follow segment numbers (as on the run report), whatever the order.
    numbers = sorted(card["number"] for card in shown)
    assert {c["number"]: c["colour"] for c in shown} == {n: i for i, n in enumerate(numbers)}
