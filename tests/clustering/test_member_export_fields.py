"""The members CSV gives the columns an integration asks for (?fields=), by key, in its
order, with the keys as the header: the same whatever the shop's currency or the run's
horizon, and columns added later do not shift it. Unknown keys, and personal ones for a
user who may not see personal data, are refused by name."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from clustering.models import SegmentAssignment
from clustering.report.member_export import MEMBER_EXPORT_FIELDS, member_export_header

from .test_member_fit_and_export import biggest_segment, csv_rows, csv_url

pytestmark = pytest.mark.django_db


def test_the_keys_name_every_column_of_the_whole_export():
    for personal in (True, False):
        labels = member_export_header(currency="EUR", personal=personal, horizon_days=30)
        keys = [f for f in MEMBER_EXPORT_FIELDS if personal or f not in ("email", "name")]
        assert len(labels) == len(keys)
    assert member_export_header(
        currency="EUR", personal=False, horizon_days=30, fields=["segment", "customer_id"]
    ) == ["segment", "customer_id"]


def test_the_page_and_the_api_give_the_columns_asked_for_in_that_order(site, client_for):
    segment = biggest_segment(site.published)
    marketing = client_for("marketing")
    whole = {row["Customer id"]: row for row in csv_rows(marketing.get(csv_url(segment)))}
    asked = "expected_value,customer_id,segment,monetary_total"
    for url in (csv_url(segment), reverse("api-segment-members-csv", args=[segment.number])):
        rows = csv_rows(marketing.get(url, {"fields": asked}))
        assert rows and list(rows[0]) == asked.split(",")
        assert len(rows) == segment.size
        for row in rows:
            full = whole[row["customer_id"]]
            assert row["segment"] == full["Segment"] == segment.name
            currency = site.published.workspace.currency
            assert row["monetary_total"] == full[f"Total spend ({currency})"]
            horizon = site.published.value_ahead.get("horizon_days")
            label = f"Expected value, next {horizon} days ({currency})"
            assert row["expected_value"] == full[label]


def test_unknown_or_personal_fields_are_refused_by_name(site, client_for):
    segment = biggest_segment(site.published)
    marketing = client_for("marketing")
    page = marketing.get(csv_url(segment), {"fields": "customer_id,shoe_size"})
    assert page.status_code == 400
    assert page.content.decode().startswith("No such field: shoe_size. The fields are ")
    api_url = reverse("api-segment-members-csv", args=[segment.number])
    personal = marketing.get(api_url, {"fields": "customer_id,email"})
    assert personal.status_code == 400
    assert personal.json()["fields"] == {
        "fields": ["email: personal data, which this user may not see."]
    }


def test_a_manager_may_ask_for_contact_fields(site, client_for):
    segment = biggest_segment(site.published)
    member = SegmentAssignment.unscoped.filter(segment=segment).order_by("pk").first()
    member.customer.email = "ann@example.com"
    member.customer.save(update_fields=["email"])
    rows = csv_rows(
        client_for("manager").get(csv_url(segment), {"fields": "customer_id,email,email"})
    )
    assert list(rows[0]) == ["customer_id", "email"]  # each once
    assert {"customer_id": member.customer.external_id, "email": "ann@example.com"} in rows


def test_the_page_offers_the_columns_this_user_may_take_the_usual_ones_ticked(site, client_for):
    segment = biggest_segment(site.published)
    for role, personal in (("marketing", False), ("manager", True)):
        html = client_for(role).get(segment.get_absolute_url()).content.decode()
        chooser = html[html.index('data-role="export-columns"') :]
        chooser = chooser[: chooser.index("</details>")]
        offered = re.findall(r'name="fields" value="(\w+)"', chooser)
        ticked = re.findall(r'name="fields" value="(\w+)" checked', chooser)
        assert ("email" in offered) is personal and ("name" in offered) is personal
        assert offered == [
            f for f in MEMBER_EXPORT_FIELDS if personal or f not in ("email", "name")
        ]
        assert {"customer_id", "segment", "action", "expected_value"} <= set(ticked)


def test_the_boxes_as_a_browser_sends_them_and_the_audience_kept(site, client_for):
    segment = biggest_segment(site.published)
    member = SegmentAssignment.unscoped.filter(segment=segment).select_related("customer").first()
    country = member.customer.country
    marketing = client_for("marketing")
    html = marketing.get(segment.get_absolute_url(), {"country": country}).content.decode()
    chooser = html[html.index('data-role="export-columns"') :]
    assert f'<input type="hidden" name="country" value="{country}">' in chooser
    # the form's GET: one fields= per ticked box, the filters beside them
    rows = csv_rows(
        marketing.get(csv_url(segment), {"fields": ["segment", "customer_id"], "country": country})
    )
    assert rows and list(rows[0]) == ["segment", "customer_id"]
    in_country = SegmentAssignment.unscoped.filter(segment=segment, customer__country=country)
    assert len(rows) == in_country.count()
