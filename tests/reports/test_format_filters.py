"""The one set of template filters for money, counts, shares, days and dates (issue 22)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.template import Context, Template
from django.utils import timezone

from reports.templatetags.report_format import count, day, days, measure, money, pct


@pytest.mark.parametrize(
    ("value", "symbol", "text"),
    [
        (5303, "£", "£5,303.00"),
        (-12.345, "$", "-$12.35"),
        (995.65, "CHF ", "CHF 995.65"),
        (None, "£", "—"),
        (float("nan"), "£", "—"),
    ],
)
def test_money_has_the_symbol_separators_and_two_decimals(value, symbol, text):
    assert money(value, symbol) == text


def test_counts_days_shares():
    assert count(75000) == "75,000"
    assert count(1424.4) == "1,424"
    assert count(None) == "—"
    assert days(1) == "1 day"
    assert days(373.4) == "373 days"
    assert days(1200) == "1,200 days"
    assert days("x") == "—"
    assert pct(0.1234) == "12.3%"


@pytest.mark.parametrize(
    ("feature", "value", "text"),
    [
        ("mean_days_between_purchases", 61.43, "61"),
        ("recency_days", 1234.6, "1,235"),
        ("monetary_total", 312.5, "$312.50"),
        ("avg_basket_value", None, "—"),
        ("frequency", 4.5, "4.5"),
        ("return_rate", 0.125, "12.5%"),
        ("return_rate", float("nan"), "—"),
    ],
)
def test_a_features_value_is_written_in_its_unit(feature, value, text):
    from clustering.report.charts import feature_unit

    assert measure(value, feature_unit(feature), "$") == text


def test_dates_in_one_format_in_the_active_time_zone():
    assert day(dt.date(2011, 12, 9)) == "9 Dec 2011"
    late = dt.datetime(2011, 12, 9, 23, 30, tzinfo=dt.UTC)
    with timezone.override(zoneinfo.ZoneInfo("Asia/Tokyo")):
        assert day(late) == "10 Dec 2011"  # the shop's day, not UTC's
    assert day(None) == "—"


def test_the_filters_are_loaded_together_in_templates():
    template = Template(
        "{% load report_format %}{{ a|money:sym }} · {{ n|count }} · {{ d|days }} · {{ t|day }}"
    )
    text = template.render(
        Context({"a": 41200, "sym": "£", "n": 312, "d": 373, "t": dt.date(2011, 12, 10)})
    )
    assert text == "£41,200.00 · 312 · 373 days · 10 Dec 2011"
