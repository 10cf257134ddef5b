"""Segments over time on the Online Retail slice (issue 19): four runs as of 1 Sep, 1 Oct,
1 Nov and 10 Dec 2011, made and published by the command in turn; the movements between
consecutive publications are named, add up, list the new customers and the gone, and the
pages, the CSV and the API show exactly them.

The world is built once for the module (committed, removed at the end): tests here must not
be transactional (each runs in a transaction rolled back at its end).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F
from django.db.models import Value as V
from django.db.models.functions import Concat
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from audit.models import AuditEntry
from clustering.engine.fit import fit_words
from clustering.history import customer_history, segment_sizes_over_time
from clustering.models import Publication, Segment, SegmentAssignment, SegmentationRun
from clustering.movements import movements_between
from customers.models import Customer
from tests.reports.site_data import _wipe

# The engine's slice of the same Online Retail file: its customers buy all year round. (The
# import slice, online_retail_slice.csv, has purchases on its first day only: every run of
# 2011 would see the same customers and nobody could be new.)
FIXTURE = "tests/fixtures/engine_online_retail_slice.csv"
AS_OF = ("2011-09-01", "2011-10-01", "2011-11-01", "2011-12-10")
PARAMS = {"algorithms": ["kmeans"], "k_min": 2, "k_max": 4, "seed": 7}

# so that pytest-django creates the test database whichever of these tests are selected
pytestmark = pytest.mark.django_db


@dataclass
class Retail:
    workspace: object
    manager: object
    marketing: object
    publications: list  # oldest first, one per AS_OF
    first_purchase: dict  # customer id -> first purchase date, read from the file itself


def _first_purchases(workspace) -> dict[str, date]:
    """Each customer's first purchase (not a return or a fee) as the import stored it, a
    local date."""
    return {
        c.external_id: timezone.localtime(c.first_purchase_at).date()
        for c in Customer.objects.in_workspace(workspace).exclude(first_purchase_at=None)
    }


@pytest.fixture(scope="module")
def retail(django_db_setup, django_db_blocker):
    from django.contrib.auth import get_user_model

    from customers.services import import_record_create, import_record_process
    from tests.shops import join, test_shop

    User = get_user_model()
    with django_db_blocker.unblock():
        _wipe()
        shop = test_shop()
        manager = User.objects.create_user("site-retail-manager", password="pw-site-1")
        join(manager, shop, "manager")
        marketing = User.objects.create_user("site-retail-marketing", password="pw-site-1")
        join(marketing, shop, "marketing")
        with open(FIXTURE, "rb") as f:
            record = import_record_create(
                workspace=shop, file=f, file_name="engine_online_retail_slice.csv", enqueue=False
            )
        record = import_record_process(workspace=shop, import_record_id=record.pk)
        assert record.rows_imported, record.error
        for as_of in AS_OF:
            call_command(
                "segment_customers",
                "--workspace",
                shop.slug,
                "--as-of",
                as_of,
                "--params",
                json.dumps(PARAMS),
                "--sync",
                "--publish",
                "--user",
                manager.username,
                stdout=io.StringIO(),
            )
        found = list(Publication.objects.in_workspace(shop).select_related("run"))[::-1]
        try:
            yield Retail(shop, manager, marketing, found, _first_purchases(shop))
        finally:
            Publication.unscoped.all().delete()
            _wipe()


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _assigned(run) -> dict[str, int]:
    """customer id -> segment number in `run`, read straight from the assignments."""
    return dict(
        SegmentAssignment.objects.in_workspace(run.workspace)
        .filter(run=run)
        .values_list("customer__external_id", "segment__number")
    )


def _pairs(retail: Retail):
    return list(zip(retail.publications, retail.publications[1:], strict=False))


# ------------------------------------------------------------------------------ the command
def test_each_run_is_as_of_its_date_and_published_in_turn(retail):
    runs = [p.run for p in retail.publications]
    assert [r.reference_date for r in runs] == [date.fromisoformat(d) for d in AS_OF]
    assert all(r.trigger == SegmentationRun.Trigger.COMMAND for r in runs)
    assert [p.source for p in retail.publications] == [Publication.Source.COMMAND] * 4
    # each publication follows the one before; only the last run is published now
    assert retail.publications[0].previous_id is None
    assert [p.previous_id for p in retail.publications[1:]] == [
        p.pk for p in retail.publications[:-1]
    ]
    assert [
        r.pk
        for r in SegmentationRun.objects.in_workspace(retail.workspace).filter(is_published=True)
    ] == [runs[-1].pk]
    # a run only counts customers who had bought before its date
    for run in runs:
        for customer in _assigned(run):
            assert retail.first_purchase[customer] < run.reference_date


def test_the_command_refuses_a_reference_date_that_is_not_a_date(shop, make_user):
    make_user("manager", username="site-as-of-manager")
    with pytest.raises(CommandError, match=r"--as-of '2011-13-01' is not a date.*YYYY-MM-DD"):
        call_command(
            "segment_customers", "--workspace", shop.slug, "--as-of", "2011-13-01", "--no-wait"
        )
    with pytest.raises(CommandError, match="--as-of or --params, not both"):
        call_command(
            "segment_customers",
            "--workspace",
            shop.slug,
            "--as-of",
            "2011-09-01",
            "--params",
            '{"reference_date": "2011-10-01"}',
            "--no-wait",
        )


# ------------------------------------------------------------------------------ movements
def test_movements_are_named_add_up_and_list_exactly_the_new_and_the_gone(retail):
    assert movements_between(workspace=retail.workspace, later=retail.publications[0]) is None
    for earlier, later in _pairs(retail):
        movements = movements_between(workspace=retail.workspace, later=later)
        before, after = _assigned(earlier.run), _assigned(later.run)
        names = {
            run.pk: dict(
                Segment.objects.in_workspace(retail.workspace)
                .filter(run=run)
                .values_list("number", "name")
            )
            for run in (earlier.run, later.run)
        }
        # every flow is named from its runs' segments
        for flow in movements.flows:
            assert flow.source or flow.target
            if flow.source:
                assert flow.source.name == names[earlier.run.pk][flow.source.number]
                # a renamed continuation names both names
                assert flow.source.name in flow.sentence
            if flow.target:
                assert flow.target.name == names[later.run.pk][flow.target.number]
                assert flow.target.name in flow.sentence
            assert f"{flow.customers:,} customer" in flow.sentence
        # the counts add up to the customers in both runs, the new and the gone
        both = set(before) & set(after)
        assert movements.in_both == len(both)
        assert sum(f.customers for f in movements.flows if f.source and f.target) == len(both)
        new = set(after) - set(before)
        gone = set(before) - set(after)
        assert (
            movements.new == len(new) == sum(f.customers for f in movements.flows if not f.source)
        )
        assert (
            movements.gone == len(gone) == sum(f.customers for f in movements.flows if not f.target)
        )
        # the new: first bought after the earlier date, or left out of the earlier run
        first_bought_since = {
            c for c in after if retail.first_purchase[c] >= earlier.run.reference_date
        }
        assert first_bought_since <= new
        assert new == first_bought_since | (set(after) - set(before))
        # each flow's count is exactly its customers
        for flow in movements.flows:
            expected = {
                c
                for c in set(before) | set(after)
                if before.get(c) == (flow.source.number if flow.source else None)
                and after.get(c) == (flow.target.number if flow.target else None)
            }
            assert flow.customers == len(expected), flow.sentence
        # largest first
        assert [f.customers for f in movements.flows] == sorted(
            (f.customers for f in movements.flows), reverse=True
        )


def test_between_september_and_december_customers_arrive(retail):
    """The slice has customers whose first purchase falls between the dates: they must be
    new somewhere (the test above would pass vacuously on a shop where nobody arrives)."""
    total_new = sum(
        movements_between(workspace=retail.workspace, later=later).new
        for _, later in _pairs(retail)
    )
    arrived = {
        c
        for c, first in retail.first_purchase.items()
        if date(2011, 9, 1) <= first < date(2011, 12, 10)
    }
    assert arrived and total_new >= len(arrived & set(_assigned(retail.publications[-1].run)))


# ------------------------------------------------------------------------------ pages
def test_the_movements_page_shows_every_flow_in_words_grouped(retail):
    client = _client(retail.marketing)
    for _earlier, later in _pairs(retail):
        movements = movements_between(workspace=retail.workspace, later=later)
        response = client.get(reverse("movements-detail", args=[later.pk]))
        assert response.status_code == 200
        html = response.content.decode()
        for flow in movements.flows:
            assert escape(flow.sentence) in html
        assert f'data-field="in_both">{movements.in_both:,}<' in html
        assert f'data-field="new">{movements.new:,}<' in html
        assert f'data-field="gone">{movements.gone:,}<' in html
        # moves, new and gone each in their own table; "stayed" apart from the moves
        if movements.moves:
            moved_table = html[html.index('data-flows="moved"') :].split("</table>")[0]
            assert all(escape(f.sentence) in moved_table for f in movements.moves)
            assert not any(
                escape(f.sentence) in moved_table for f in movements.flows if not f.moved
            )
        else:
            assert "Nobody changed segment." in html
        if any(not f.moved for f in movements.flows):
            assert 'data-flows="stayed"' in html
        if movements.new:
            assert 'data-flows="new"' in html
    # the latest is the default
    latest = client.get(reverse("movements")).content.decode()
    last = movements_between(workspace=retail.workspace, later=retail.publications[-1])
    assert escape(last.flows[0].sentence) in latest


def test_the_first_publication_has_nothing_before_it(retail):
    html = (
        _client(retail.marketing)
        .get(reverse("movements-detail", args=[retail.publications[0].pk]))
        .content.decode()
    )
    assert "first publication" in html and 'data-flows="moved"' not in html


def test_the_customers_behind_a_movement_and_its_csv_are_exactly_them(retail):
    client = _client(retail.marketing)
    earlier, later = _pairs(retail)[-1]
    movements = movements_between(workspace=retail.workspace, later=later)
    before, after = _assigned(earlier.run), _assigned(later.run)
    for flow in (movements.flows[0], *[f for f in movements.flows if f.source is None][:1]):
        source = flow.source.number if flow.source else "new"
        target = flow.target.number if flow.target else "gone"
        expected = {
            c
            for c in set(before) | set(after)
            if before.get(c) == (flow.source.number if flow.source else None)
            and after.get(c) == (flow.target.number if flow.target else None)
        }
        query = {"from": source, "to": target}
        csv_response = client.get(reverse("movement-members-csv", args=[later.pk]), query)
        assert csv_response.status_code == 200
        text = b"".join(csv_response.streaming_content).decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert {r["customer_id"] for r in rows} == expected
        assert len(rows) == flow.customers
        assert {r["currency"] for r in rows} == {retail.workspace.currency}
        page = client.get(reverse("movement-members", args=[later.pk]), query)
        html = page.content.decode()
        assert f"{flow.customers:,} customer" in html
        shown = {c for c in expected if f'data-customer="{c}"' in html}
        assert shown == expected or len(shown) == 50  # one page of 50


def test_the_csv_neutralises_formulas(retail):
    earlier, later = _pairs(retail)[-1]
    flow = movements_between(workspace=retail.workspace, later=later).flows[0]
    customer_ids = [
        c
        for c in set(_assigned(earlier.run)) & set(_assigned(later.run))
        if _assigned(earlier.run)[c] == flow.source.number
        and _assigned(later.run)[c] == flow.target.number
    ]
    customer = Customer.objects.in_workspace(retail.workspace).get(external_id=customer_ids[0])
    country = customer.country
    Customer.objects.in_workspace(retail.workspace).filter(pk=customer.pk).update(
        country='=HYPERLINK("http://evil")'
    )
    try:
        response = _client(retail.marketing).get(
            reverse("movement-members-csv", args=[later.pk]),
            {"from": flow.source.number, "to": flow.target.number},
        )
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        row = next(
            r for r in csv.DictReader(io.StringIO(text)) if r["customer_id"] == customer.external_id
        )
        assert row["country"] == '\'=HYPERLINK("http://evil")'
    finally:
        Customer.objects.in_workspace(retail.workspace).filter(pk=customer.pk).update(
            country=country
        )


def test_a_movements_customers_download_as_hashed_e_mails_for_managers(retail):
    from clustering.report.ad_audience import hashed_email

    earlier, later = _pairs(retail)[-1]
    flow = movements_between(workspace=retail.workspace, later=later).moves[0]
    query = {"from": flow.source.number, "to": flow.target.number}
    page_url = reverse("movement-members", args=[later.pk])
    url = reverse("movement-ad-audience-csv", args=[later.pk])
    before, after = _assigned(earlier.run), _assigned(later.run)
    moved = sorted(
        c for c in before if before[c] == flow.source.number and after.get(c) == flow.target.number
    )
    customers = Customer.objects.in_workspace(retail.workspace)
    manager = _client(retail.manager)
    # No address anywhere: the page offers no list.
    assert "ad-audience-download" not in manager.get(page_url, query).content.decode()
    customers.filter(external_id__in=moved[1:]).update(email=Concat(F("external_id"), V("@X.org")))
    try:
        html = manager.get(page_url, query).content.decode()
        assert re.search(r'data-role="ad-audience-download" href="[^"]+ad-audience.csv\?', html)
        assert (
            "ad-audience-download"
            not in _client(retail.marketing).get(page_url, query).content.decode()
        )
        assert _client(retail.marketing).get(url, query).status_code == 403

        response = manager.get(url, query)
        assert response.status_code == 200
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text)))
        # Every customer who made the move and has an address (the first has none), once.
        assert {r["Email"] for r in rows} == {hashed_email(f"{c}@x.org") for c in moved[1:]}
        assert len(rows) == len(moved) - 1
        entry = AuditEntry.objects.in_workspace(retail.workspace).order_by("-pk").first()
        assert entry.details == {
            "what": f"the movement segment-{flow.source.number} to "
            f"segment-{flow.target.number}: hashed e-mails for ad platforms",
            "rows": len(moved) - 1,
            "contact_details": True,
        }
    finally:
        customers.filter(external_id__in=moved).update(email="")


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({}, "“from” (a segment number or “new”) and “to”"),
        ({"from": "99", "to": "gone"}, "“from” must be a segment number of the earlier run"),
        ({"from": "new", "to": "x"}, "“to” must be a segment number of the later run"),
        ({"from": "new", "to": "gone"}, "names nobody"),
    ],
)
def test_a_movement_address_that_names_no_movement_says_why(retail, query, says):
    later = retail.publications[-1]
    for name in ("movement-members", "movement-members-csv"):
        response = _client(retail.marketing).get(reverse(name, args=[later.pk]), query)
        assert response.status_code == 400
        assert escape(says) in response.content.decode()


def test_the_sizes_chart_has_every_publication_and_segment(retail):
    chart = segment_sizes_over_time(workspace=retail.workspace)
    assert chart["publications"] == [p.pk for p in retail.publications]
    for index, publication in enumerate(retail.publications):
        sizes = dict(
            Segment.objects.in_workspace(retail.workspace)
            .filter(run=publication.run)
            .values_list("name", "size")
        )
        column = {s["name"]: s["sizes"][index] for s in chart["series"]}
        assert {n: v for n, v in column.items() if v is not None} == sizes
    html = _client(retail.marketing).get(reverse("movements")).content.decode()
    assert 'data-chart="sizes"' in html and 'id="sizes-data"' in html
    assert "<script>" not in html.split('id="sizes-data"')[0][-200:]  # json_script only


def test_the_dashboard_shows_the_three_largest_moves_since_the_last_publication(retail):
    movements = movements_between(workspace=retail.workspace, later=retail.publications[-1])
    html = _client(retail.marketing).get(reverse("home")).content.decode()
    section = html[html.index('id="since-last-publication"') :].split("</section>")[0]
    assert "Since the last publication" in section
    moves = [f for f in movements.flows if f.moved and f.source and f.target][:3]
    assert moves
    for flow in moves:
        assert escape(flow.sentence) in section
    assert section.count("<li") == len(moves)
    assert reverse("movements-detail", args=[retail.publications[-1].pk]) in section


def test_the_dashboards_movements_cost_queries_once_per_publication(retail):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _client(retail.marketing)
    with CaptureQueriesContext(connection) as cold:
        client.get(reverse("home"))
    with CaptureQueriesContext(connection) as warm:
        client.get(reverse("home"))
    # the publication, the one before, each run's assignments and segments: once
    assert len(cold) - len(warm) <= 6
    assert not any("clustering_segmentassignment" in q["sql"] for q in warm)


def test_the_run_report_links_to_its_movements(retail):
    later = retail.publications[-1]
    html = _client(retail.manager).get(later.run.get_absolute_url()).content.decode()
    assert reverse("movements-detail", args=[later.pk]) in html


# ------------------------------------------------------------------------------ history
def test_a_customers_history_has_every_publication_newest_first(
    retail, django_assert_max_num_queries
):
    # a customer who arrived after September: "not in this run" at the first publication
    late = next(
        c
        for c, first in sorted(retail.first_purchase.items())
        if date(2011, 9, 1) <= first < date(2011, 10, 1)
    )
    customer = Customer.objects.in_workspace(retail.workspace).get(external_id=late)
    with django_assert_max_num_queries(2):
        history = customer_history(workspace=retail.workspace, customer=customer)
    assert [h.publication.pk for h in history] == [p.pk for p in retail.publications[::-1]]
    assert history[0].is_current and not any(h.is_current for h in history[1:])
    for entry in history:
        assigned = _assigned(entry.run)
        if late in assigned:
            assert entry.segment_number == assigned[late]
            assert (
                entry.segment_name
                == Segment.objects.in_workspace(retail.workspace)
                .get(run=entry.run, number=assigned[late])
                .name
            )
        else:
            assert not entry.in_run and entry.confidence is None
    assert not history[-1].in_run  # not a customer yet on 1 September

    page = _client(retail.marketing).get(reverse("customer-lookup"), {"customer_id": late})
    html = page.content.decode()
    table = html[html.index('id="customer-history"') :].split("</table>")[0]
    assert table.count("<tr data-publication=") == 4
    assert "not in this run" in table
    assert escape(history[0].segment_name) in table
    # the fit in the segment pages' words, not the model's bare confidence
    fits = re.findall(r'data-field="fit">([^<]*)<', table)
    assert fits == [fit_words(h.confidence, h.run.chosen_algorithm) for h in history if h.in_run]
    assert all(f.endswith("member") or f.startswith("borderline") for f in fits) and fits

    body = _client(retail.marketing).get(reverse("api-customer", args=[late])).json()
    assert [h["publication_id"] for h in body["history"]] == [h.publication.pk for h in history]
    assert body["history"][-1] == {
        "publication_id": retail.publications[0].pk,
        "published_at": body["history"][-1]["published_at"],
        "run_id": retail.publications[0].run_id,
        "run_name": "Segmentation as of 1 Sep 2011",
        "is_current": False,
        "in_run": False,
        "segment_number": None,
        "segment_id": None,
        "segment_name": None,
        "confidence": None,
    }
    assert body["history"][0]["segment_name"] == history[0].segment_name


# ------------------------------------------------------------------------------ API
def test_the_api_gives_the_latest_movements_and_one_publications(retail):
    client = _client(retail.marketing)
    later = retail.publications[-1]
    movements = movements_between(workspace=retail.workspace, later=later)
    body = client.get(reverse("api-movements")).json()
    assert body == client.get(reverse("api-movements-detail", args=[later.pk])).json()
    assert body["later"]["publication_id"] == later.pk
    assert body["earlier"]["publication_id"] == retail.publications[-2].pk
    assert body["later"]["reference_date"] == "2011-12-10"
    assert body["currency"] == retail.workspace.currency
    assert (body["in_both"], body["new"], body["gone"]) == (
        movements.in_both,
        movements.new,
        movements.gone,
    )
    assert [f["sentence"] for f in body["flows"]] == [f.sentence for f in movements.flows]
    first = body["flows"][0]
    assert first["customers"] == movements.flows[0].customers
    assert client.get(first["members_csv_url"]).status_code == 200
    assert {m["later_segment"]: m["continues"] for m in body["matches"]} == movements.matches

    opening = client.get(reverse("api-movements-detail", args=[retail.publications[0].pk]))
    assert opening.status_code == 200
    assert opening.json()["earlier"] is None and opening.json()["flows"] == []
    missing = client.get(reverse("api-movements-detail", args=[987654321]))
    assert missing.status_code == 404


def test_the_schema_documents_the_movements_and_the_customers_history(retail):
    schema = _client(retail.marketing).get(reverse("api-schema"), {"format": "json"}).json()
    paths = schema["paths"]
    assert "/api/v1/movements/" in paths and "/api/v1/movements/{publication_id}/" in paths
    assert "Movements" in schema["components"]["schemas"]
    detail = schema["components"]["schemas"]["CustomerDetail"]
    assert "history" in detail["properties"]


# ------------------------------------------------------------------------------ roles
def test_marketing_and_managers_read_movements_and_others_do_not(retail, django_user_model):
    later = retail.publications[-1]
    flow = movements_between(workspace=retail.workspace, later=later).flows[0]
    query = f"?from={flow.source.number if flow.source else 'new'}&to=" + (
        str(flow.target.number) if flow.target else "gone"
    )
    urls = [
        reverse("movements"),
        reverse("movements-detail", args=[later.pk]),
        reverse("movement-members", args=[later.pk]) + query,
        reverse("movement-members-csv", args=[later.pk]) + query,
        reverse("api-movements"),
        reverse("api-movements-detail", args=[later.pk]),
    ]
    for user in (retail.marketing, retail.manager):
        client = _client(user)
        for url in urls:
            assert client.get(url).status_code == 200, (user.username, url)
    outsider = django_user_model.objects.create_user("site-retail-nobody", password="pw-1")
    client = _client(outsider)
    for url in urls:
        assert client.get(url).status_code in (403, 404), url
    anonymous = Client()
    assert anonymous.get(reverse("movements")).status_code == 302
    assert anonymous.get(reverse("api-movements")).status_code in (401, 403)
