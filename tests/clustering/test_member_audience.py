"""A segment's members narrowed to a campaign's audience (by their own activity against the
shop's rhythm, by country) on the segment page, in its CSV and in the API: the same members
in each, the filters kept while sorting and paging, each export logged with what it held,
and a filter that cannot be read refused with the reason."""

from __future__ import annotations

import csv
import html as html_text
import io
import re
from types import SimpleNamespace

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from clustering.models import Segment, SegmentAssignment, SegmentationRun
from clustering.report.audience import (
    ACTIVITIES,
    Audience,
    AudienceRefused,
    audience_from,
)
from clustering.report.member_fit import customer_activity
from customers.models import Customer

RHYTHM = {"active_days": 60.0, "lapsed_days": 180.0, "repeat_customers": 100, "basis": "test"}
# A run's part the filters read: its rhythm, and whether it estimated value ahead.
RUN = SimpleNamespace(activity_rhythm=RHYTHM, value_ahead={"horizon_days": 90})
# Each member's next order in turn: the bounds of "within 14 days" on both sides, none.
NEXT_ORDERS = (5.0, 14.0, 14.5, 45.0, None)
# Every third member each: the bounds themselves on the side customer_activity puts them.
RECENCIES = {"active": (12.0, 60.0), "cooling": (60.5, 180.0), "lapsed": (180.5, 400.0)}


# ------------------------------------------------------------------------ the filters alone
@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"activity": "sleepy"}, "activity", "one of active, cooling, lapsed"),
        ({"country": "x" * 81}, "country", "at most 80 characters"),
        *(
            ({"due_within": days}, "due_within", "whole number of days from 1 to 3,650")
            for days in ("0", "1.5", "soon", "3651", "-3")
        ),
    ],
)
def test_a_filter_that_cannot_be_read_is_refused_naming_it(params, field, words):
    with pytest.raises(AudienceRefused, match=words) as refused:
        audience_from(params, run=RUN)
    assert refused.value.field == field


def test_an_activity_is_refused_for_a_run_that_did_not_measure_the_rhythm():
    with pytest.raises(AudienceRefused, match="did not measure the shop's rhythm"):
        audience_from(
            {"activity": "active"}, run=SimpleNamespace(activity_rhythm={}, value_ahead={})
        )
    no_rhythm = SimpleNamespace(activity_rhythm={}, value_ahead={})
    assert audience_from({"country": "France"}, run=no_rhythm) == Audience(country="France")


def test_a_next_order_is_refused_for_a_run_that_did_not_estimate_value_ahead():
    without_value = SimpleNamespace(activity_rhythm=RHYTHM, value_ahead={})
    with pytest.raises(AudienceRefused, match="did not estimate its members' next orders"):
        audience_from({"due_within": "14"}, run=without_value)
    assert audience_from({"due_within": " 14 "}, run=RUN) == Audience(due_within=14)


def test_an_audience_is_said_in_words_in_its_links_and_in_its_file_name():
    audience = audience_from({"activity": " Cooling ", "country": "United Kingdom"}, run=RUN)
    assert audience == Audience(activity="cooling", country="United Kingdom")
    assert audience.words() == "cooling, in United Kingdom"
    assert audience.query() == {"activity": "cooling", "country": "United Kingdom"}
    assert audience.file_suffix() == "-cooling-united-kingdom"
    assert audience.export_words() == "one segment's members (cooling, in United Kingdom)"
    due = audience_from({"activity": "active", "due_within": "1", "country": "France"}, run=RUN)
    assert due.words() == "active, next order within 1 day, in France"
    assert due.query() == {"activity": "active", "due_within": "1", "country": "France"}
    assert due.file_suffix() == "-active-next-order-1-day-france"
    everyone = audience_from({}, run=RUN)
    assert not everyone.narrowed and everyone.query() == {} and everyone.file_suffix() == ""


# ------------------------------------------------------------------ pages, CSV and the API


@pytest.fixture
def segment(site, db) -> Segment:
    """The published run's biggest segment, its members a third each active, cooling and
    lapsed by RHYTHM (bounds included), a quarter in France and the rest in the UK."""
    SegmentationRun.unscoped.filter(pk=site.published.pk).update(activity_rhythm=RHYTHM)
    biggest = Segment.unscoped.filter(run=site.published).order_by("-size").first()
    members = list(
        SegmentAssignment.unscoped.filter(segment=biggest)
        .order_by("pk")
        .values_list("pk", "customer_id")
    )
    assert len(members) >= 12, "the site's biggest segment is too small for this test"
    for i, (pk, customer_pk) in enumerate(members):
        activity = ACTIVITIES[i % 3]
        recency = RECENCIES[activity][(i // 3) % 2]
        SegmentAssignment.unscoped.filter(pk=pk).update(
            recency_days=recency, next_purchase_days=NEXT_ORDERS[i % len(NEXT_ORDERS)]
        )
        country = "France" if i % 4 == 1 else "United Kingdom"
        Customer.unscoped.filter(pk=customer_pk).update(country=country)
    Segment.unscoped.filter(pk=biggest.pk).update(top_country="United Kingdom")
    return Segment.unscoped.select_related("run").get(pk=biggest.pk)


def expected(
    segment: Segment, activity: str = "", country: str = "", due_within: float | None = None
) -> set[str]:
    """The members of the audience, judged one by one as the members list judges them."""
    members = SegmentAssignment.unscoped.filter(segment=segment).values_list(
        "customer__external_id", "recency_days", "customer__country", "next_purchase_days"
    )
    return {
        customer
        for customer, recency, their_country, next_order in members
        if (not activity or customer_activity(recency, RHYTHM) == activity)
        and (not country or their_country == country)
        and (due_within is None or (next_order is not None and next_order <= due_within))
    }


def page_ids(html: str) -> list[str]:
    return re.findall(r'customer_id=([^"&]+)">', html)


def csv_rows(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.django_db
def test_the_three_activities_split_the_members_as_the_list_words_them(segment, client_for):
    client = client_for("marketing")
    seen: set[str] = set()
    for activity in ACTIVITIES:
        response = client.get(segment.get_absolute_url(), {"activity": activity})
        assert response.status_code == 200
        html = response.content.decode()
        listed = set(page_ids(html))
        assert listed == expected(segment, activity)
        assert set(re.findall(r'<td data-activity="(\w+)"', html)) == {activity}
        seen |= listed
    assert seen == expected(segment)


@pytest.mark.django_db
def test_the_page_offers_the_filters_and_keeps_them_while_sorting_and_paging(segment, client_for):
    html = (
        client_for("marketing")
        .get(segment.get_absolute_url(), {"activity": "lapsed", "country": "France"})
        .content.decode()
    )
    audience = set(page_ids(html))
    assert audience == expected(segment, "lapsed", "France") and audience
    form = html.split('data-role="audience"')[1].split("</form>")[0]
    assert '<option value="lapsed" selected>' in form
    # the segment's countries, most members first
    countries = re.findall(r"<option(?: selected)?>([^<]+)</option>", form)
    assert countries == ["United Kingdom", "France"]
    assert "<option selected>France</option>" in form
    # every sort link keeps the audience
    sort_links = re.findall(r'<th scope="col"[^>]*><a href="([^"]+)"', html)
    assert sort_links and all("activity=lapsed&amp;country=France" in h for h in sort_links)
    download = re.search(r'data-role="audience-download" href="([^"]+)"[^>]*>([^<]+)<', html)
    assert download.group(1).endswith("members.csv?activity=lapsed&amp;country=France")
    assert download.group(2) == f"Download these {len(audience)} members (lapsed, in France) as CSV"


@pytest.mark.django_db
def test_the_pager_keeps_the_audience(segment, client_for, settings, monkeypatch):
    from clustering.report import members

    monkeypatch.setattr(members, "MEMBERS_PER_PAGE", 2)
    client = client_for("marketing")
    first = client.get(segment.get_absolute_url(), {"activity": "active"}).content.decode()
    following = re.search(r'<a href="\?([^"]+)#members" rel="next">', first).group(1)
    assert "activity=active" in following
    second = client.get(segment.get_absolute_url() + "?" + following.replace("&amp;", "&"))
    listed = set(page_ids(first)) | set(page_ids(second.content.decode()))
    assert listed <= expected(segment, "active") and len(listed) == 4


@pytest.mark.django_db
def test_the_csv_holds_the_audience_and_its_export_is_logged_with_it(segment, client_for):
    url = reverse("clustering:segment-members-csv", args=[segment.run_id, segment.number])
    response = client_for("marketing").get(url, {"activity": "cooling", "country": "France"})
    assert response.status_code == 200
    assert "-cooling-france.csv" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert {r["Customer id"] for r in rows} == expected(segment, "cooling", "France")
    assert {(r["Activity"], r["Country"]) for r in rows} == {("cooling", "France")}
    entry = AuditEntry.unscoped.order_by("-pk").first()
    assert entry.details == {
        "what": "one segment's members (cooling, in France)",
        "rows": len(rows),
        "contact_details": False,
    }


@pytest.mark.django_db
def test_an_unreadable_filter_is_refused_on_the_page_and_in_the_csv(segment, client_for):
    client = client_for("marketing")
    page = client.get(segment.get_absolute_url(), {"activity": "sleepy"})
    assert page.status_code == 400
    html = page.content.decode()
    assert 'data-role="audience-refused"' in html and "one of active, cooling, lapsed" in html
    assert len(set(page_ids(html))) > 0  # the members are still listed, unfiltered
    url = reverse("clustering:segment-members-csv", args=[segment.run_id, segment.number])
    before = AuditEntry.unscoped.count()
    refused = client.get(url, {"activity": "sleepy"})
    assert refused.status_code == 400 and b"one of active, cooling, lapsed" in refused.content
    assert AuditEntry.unscoped.count() == before  # nothing left the product


@pytest.mark.django_db
def test_without_a_measured_rhythm_the_page_offers_no_activity(segment, client_for):
    SegmentationRun.unscoped.filter(pk=segment.run_id).update(activity_rhythm={})
    client = client_for("marketing")
    html = client.get(segment.get_absolute_url()).content.decode()
    assert 'name="activity"' not in html and 'name="country"' in html
    response = client.get(segment.get_absolute_url(), {"activity": "active"})
    assert response.status_code == 400
    assert "did not measure the shop's rhythm" in html_text.unescape(response.content.decode())


@pytest.mark.django_db
def test_the_api_lists_and_exports_the_same_audience(segment, client_for):
    client = client_for("marketing")
    members = reverse("api-segment-members", kwargs={"number": segment.number})
    response = client.get(members, {"activity": "lapsed", "country": "France", "page_size": 5000})
    assert response.status_code == 200
    listed = {r["customer_id"] for r in response.json()["results"]}
    assert listed == expected(segment, "lapsed", "France")
    assert {r["activity"] for r in response.json()["results"]} == {"lapsed"}
    refused = client.get(members, {"activity": "sleepy"})
    assert refused.status_code == 400
    body = refused.json()
    assert body["code"] == "invalid_filter" and "activity" in body["fields"]
    as_csv = client.get(
        reverse("api-segment-members-csv", kwargs={"number": segment.number}),
        {"activity": "lapsed", "country": "France"},
    )
    assert {r["Customer id"] for r in csv_rows(as_csv)} == listed
    assert AuditEntry.unscoped.order_by("-pk").first().details["what"] == (
        "one segment's members (lapsed, in France)"
    )


@pytest.mark.django_db
def test_a_country_beyond_ascii_names_the_file_as_written(segment, client_for):
    member = SegmentAssignment.unscoped.filter(segment=segment).order_by("pk").first()
    Customer.unscoped.filter(pk=member.customer_id).update(country="Łódź")
    url = reverse("clustering:segment-members-csv", args=[segment.run_id, segment.number])
    response = client_for("marketing").get(url, {"country": "Łódź"})
    assert [r["Country"] for r in csv_rows(response)] == ["Łódź"]
    # RFC 6266's filename*, which browsers decode; a plain filename="" would be mangled
    assert response["Content-Disposition"].startswith("attachment; filename*=utf-8''run-")
    assert response["Content-Disposition"].endswith("-%C5%82%C3%B3d%C5%BA.csv")


@pytest.mark.django_db
def test_the_segment_page_offers_its_countries_with_the_cache_down(segment, client_for, settings):
    client = client_for("marketing")
    settings.CACHES = {  # a Redis that refuses connections
        "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    response = client.get(segment.get_absolute_url(), {"country": "France"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<option selected>France</option>" in html
    assert set(page_ids(html)) == expected(segment, country="France")


@pytest.mark.django_db
def test_a_search_narrows_the_page_but_not_the_download(segment, client_for):
    wanted = expected(segment, "active")
    prefix = sorted(wanted)[0][:-1]
    html = (
        client_for("marketing")
        .get(segment.get_absolute_url(), {"activity": "active", "q": prefix})
        .content.decode()
    )
    assert set(page_ids(html)) == {c for c in wanted if c.startswith(prefix)}
    label = re.search(r'data-role="audience-download"[^>]*>([^<]+)<', html).group(1)
    assert label == f"Download these {len(wanted)} members (active) as CSV"


@pytest.mark.django_db
def test_an_empty_audience_offers_no_download_and_one_member_is_said_so(segment, client_for):
    client = client_for("marketing")
    html = client.get(segment.get_absolute_url(), {"country": "Iceland"}).content.decode()
    assert "No member of this segment is in Iceland." in html
    assert 'data-role="audience-download"' not in html  # not a button for an empty file
    member = SegmentAssignment.unscoped.filter(segment=segment).order_by("pk").first()
    Customer.unscoped.filter(pk=member.customer_id).update(country="Iceland")
    html = client.get(segment.get_absolute_url(), {"country": "Iceland"}).content.decode()
    label = re.search(r'data-role="audience-download"[^>]*>([^<]+)<', html).group(1)
    assert label == "Download this member (in Iceland) as CSV"


@pytest.mark.django_db
def test_members_due_to_order_are_the_same_on_the_page_in_the_csv_and_in_the_api(
    segment, client_for
):
    assert segment.run.value_ahead, "the site's run estimated no value ahead"
    client = client_for("marketing")
    wanted = expected(segment, "active", due_within=14)
    assert wanted and wanted != expected(segment, "active")
    page = client.get(segment.get_absolute_url(), {"activity": "active", "due_within": "14"})
    html = page.content.decode()
    assert set(page_ids(html)) == wanted
    assert '<option value="14" selected>14 days</option>' in html
    label = re.search(r'data-role="audience-download"[^>]*>([^<]+)<', html).group(1)
    assert (
        label == f"Download these {len(wanted)} members (active, next order within 14 days) as CSV"
    )
    url = reverse("clustering:segment-members-csv", args=[segment.run_id, segment.number])
    rows = csv_rows(client.get(url, {"activity": "active", "due_within": "14"}))
    assert {r["Customer id"] for r in rows} == wanted
    api = client.get(
        reverse("api-segment-members", kwargs={"number": segment.number}),
        {"activity": "active", "due_within": 14, "page_size": 5000},
    ).json()["results"]
    assert {r["customer_id"] for r in api} == wanted
    assert all(r["next_purchase_days"] <= 14 for r in api)
    # a wait the page does not offer is kept as asked
    html = client.get(segment.get_absolute_url(), {"due_within": "21"}).content.decode()
    within_21 = expected(segment, due_within=21)
    assert set(page_ids(html)) <= within_21
    assert f"Download these {len(within_21)} members (next order within 21 days)" in html
    assert '<option value="21" selected>21 days</option>' in html


@pytest.mark.django_db
def test_without_value_ahead_the_page_offers_no_next_order(segment, client_for):
    SegmentationRun.unscoped.filter(pk=segment.run_id).update(value_ahead={})
    client = client_for("marketing")
    html = client.get(segment.get_absolute_url()).content.decode()
    assert 'name="due_within"' not in html and 'name="activity"' in html
    refused = client.get(
        reverse("api-segment-members", kwargs={"number": segment.number}), {"due_within": 14}
    )
    assert refused.status_code == 400 and "due_within" in refused.json()["fields"]
