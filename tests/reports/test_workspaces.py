"""Each workspace's reports are its own: pages, exports and the customers API of `shop` show
only shop's runs, segments and customers, in pounds; another workspace's objects answer 404
there, and a customer id both shops know is shop's customer. `other_shop` (US dollars) holds
a small published run of its own, beside the module's shared `site` in shop."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import reverse

from accounts.workspace_access import workspace_url
from reports.selectors import RECENT_LINES
from reports.templatetags.report_format import money

pytestmark = pytest.mark.django_db

OTHER_COUNTRY = "Elsewhere"  # every other_shop customer's country, to tell them apart
OTHER_RUN = "Dollar review"
OTHER_IMPORT = "other-shop.csv"


@dataclass
class OtherShop:
    workspace: object
    run: object  # published in other_shop
    segment: object  # one of its segments
    shared_id: str  # a customer id both shops have
    only_id: str  # a customer id only other_shop has


@pytest.fixture(scope="module")
def other(site, django_db_blocker):
    from django.contrib.auth import get_user_model

    from clustering.services import run_publish
    from tests.clustering.factories import load_transactions, synthetic_lines
    from tests.reports.site_data import _execute, _wipe
    from tests.shops import OTHER_SHOP, join, test_shop

    with django_db_blocker.unblock():
        workspace = test_shop(OTHER_SHOP)
        manager = get_user_model().objects.create_user("site-other-manager", password="pw-x-1")
        join(manager, workspace, "manager")
        lines = synthetic_lines(60, seed=9)
        lines["country"] = OTHER_COUNTRY
        # The first half keep the ids shop's customers have; the others are other_shop's own.
        ids = sorted(lines["customer_id"].unique())
        own = {c: f"X{c}" for c in ids[len(ids) // 2 :]}
        lines["customer_id"] = lines["customer_id"].map(lambda c: own.get(c, c))
        load_transactions(lines, workspace=workspace, name=OTHER_IMPORT)
        params = {"algorithms": ["kmeans"], "k_min": 2, "k_max": 3, "seed": 7}
        run = _execute(workspace, manager, params, OTHER_RUN)
        run_publish(workspace=workspace, run_id=run.pk, user=manager)
        run.refresh_from_db()
        shared = run.assignments.exclude(customer__external_id__startswith="X")
        shared_id = shared.values_list("customer__external_id", flat=True).first()
        try:
            yield OtherShop(
                workspace=workspace,
                run=run,
                segment=run.segments.order_by("number").first(),
                shared_id=shared_id,
                only_id=next(iter(own.values())),
            )
        finally:
            _wipe()
            workspace.delete()


@pytest.fixture
def shop_user(site, client_for):
    """A manager of shop only (every reports page open to them)."""
    return client_for("manager")


@pytest.fixture
def member_of_both(site, other, make_user):
    from tests.shops import join

    user = make_user("marketing", username="both-shops")
    join(user, other.workspace, "marketing")
    client = Client()
    client.force_login(user)
    return client


def in_ws(workspace, name: str, *args) -> str:
    return workspace_url(workspace, reverse(name, args=args))


def csv_of(response) -> list[list[str]]:
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def lookup(client, workspace, customer_id: str):
    return client.get(in_ws(workspace, "customer-lookup"), {"customer_id": customer_id})


# ------------------------------------------------------------------------------ currency
def test_the_lookup_page_shows_amounts_in_each_workspaces_currency(site, other, member_of_both):
    from customers.models import TransactionLine

    for workspace, symbol, foreign in ((site.workspace, "£", "$"), (other.workspace, "$", "£")):
        response = lookup(member_of_both, workspace, other.shared_id)
        assert response.status_code == 200
        html = response.content.decode()
        line = (
            TransactionLine.objects.in_workspace(workspace)
            .filter(customer__external_id=other.shared_id)
            .order_by("-timestamp")
            .first()
        )
        assert f'<td class="num">{money(line.amount, symbol)}</td>' in html
        current = response.context["result"].current
        assert f'<td class="num">{money(current.monetary_total, symbol)}</td>' in html
        assert f">{foreign}" not in html


def test_the_csv_exports_name_each_workspaces_currency(site, other, member_of_both, make_user):
    from tests.shops import join

    manager = make_user("manager", username="manager-of-both")
    join(manager, other.workspace, "manager")
    reader = Client()
    reader.force_login(manager)
    exports = {
        "GBP": (site.workspace, site.published, site.published.segments.first()),
        "USD": (other.workspace, other.run, other.segment),
    }
    for code, (workspace, run, segment) in exports.items():
        members = in_ws(workspace, "clustering:segment-members-csv", run.pk, segment.number)
        assignments = in_ws(workspace, "clustering:run-assignments-csv", run.pk)
        for client, url in ((member_of_both, members), (reader, assignments)):
            header, *rows = csv_of(client.get(url))
            # The amounts' headers name the workspace's currency, never the other one's.
            money = [h for h in header if h.endswith(")") and "(" in h and "%" not in h]
            assert f"Total spend ({code})" in header, url
            assert all(h.endswith(f"({code})") for h in money if "spend" in h or "value" in h)
            assert not any(other_code in " ".join(header) for other_code in {"GBP", "USD"} - {code})
            assert rows, url


def test_the_api_keeps_amounts_as_numbers(site, other, member_of_both):
    response = member_of_both.get(in_ws(site.workspace, "api-customer", site.customer_id))
    assert response.status_code == 200
    features = response.json()["features"]
    assert isinstance(features["monetary_total"], float)


# ------------------------------------------------------------------------------ 404s
def test_another_workspaces_run_segment_and_export_answer_404(site, other, shop_user):
    run, segment = other.run, other.segment
    for url in (
        reverse("clustering:segment-detail", args=[run.pk, segment.number]),
        reverse("clustering:segment-members-csv", args=[run.pk, segment.number]),
        reverse("clustering:run-detail", args=[run.pk]),
        reverse("clustering:run-assignments-csv", args=[run.pk]),
    ):
        # Served in the user's workspace (shop), with or without its prefix.
        assert shop_user.get(url).status_code == 404, url
        assert shop_user.get(workspace_url(site.workspace, url)).status_code == 404, url
    compare = in_ws(site.workspace, "run-compare")
    assert shop_user.get(compare, {"before": run.pk}).status_code == 404
    assert shop_user.get(compare, {"after": run.pk}).status_code == 404


def test_a_customer_only_another_workspace_has_answers_404(site, other, shop_user):
    response = lookup(shop_user, site.workspace, other.only_id)
    assert response.status_code == 404
    html = response.content.decode()
    assert f"No customer with id “{other.only_id}”" in html
    assert OTHER_COUNTRY not in html
    api = shop_user.get(in_ws(site.workspace, "api-customer", other.only_id))
    assert api.status_code == 404


def test_another_workspaces_pages_are_404_to_a_non_member(site, other, shop_user):
    assert shop_user.get(in_ws(other.workspace, "home")).status_code == 404
    assert lookup(shop_user, other.workspace, other.only_id).status_code == 404


# ------------------------------------------------------------------------------ shared ids
def test_a_customer_id_both_workspaces_know_is_this_workspaces_customer(site, other, shop_user):
    from customers.models import Customer

    ours = Customer.objects.in_workspace(site.workspace).get(external_id=other.shared_id)
    response = lookup(shop_user, site.workspace, other.shared_id)
    assert response.status_code == 200
    result = response.context["result"]
    assert result.customer.pk == ours.pk
    assert result.published == site.published
    assert result.current is None or result.current.run_id == site.published.pk
    assert all(a.run.workspace_id == site.workspace.pk for a in result.history)
    assert {line.customer_id for line in result.recent_lines} == {ours.pk}
    assert len(result.recent_lines) <= RECENT_LINES
    html = response.content.decode()
    assert ours.country in html and OTHER_COUNTRY not in html and OTHER_RUN not in html

    body = shop_user.get(in_ws(site.workspace, "api-customer", other.shared_id)).json()
    assert body["country"] == ours.country
    assert {h["run_id"] for h in body["segment_history"]} <= {site.published.pk, site.earlier.pk}


# ------------------------------------------------------------------------------ lists
def test_the_dashboard_shows_the_workspaces_own_published_run_and_activity(
    site, other, member_of_both
):
    shop_page = member_of_both.get(in_ws(site.workspace, "home")).content.decode()
    assert "Spring review" in shop_page and "synthetic.csv" in shop_page
    assert OTHER_RUN not in shop_page and OTHER_IMPORT not in shop_page
    other_page = member_of_both.get(in_ws(other.workspace, "home")).content.decode()
    assert OTHER_RUN in other_page and OTHER_IMPORT in other_page
    assert "Spring review" not in other_page and "synthetic.csv" not in other_page
    assert other_page.count('class="card segment-card') == other.run.segments.count()


def test_compare_offers_only_the_workspaces_runs(site, other, shop_user):
    response = shop_user.get(in_ws(site.workspace, "run-compare"))
    assert {r.pk for r in response.context["runs"]} == {site.earlier.pk, site.published.pk}
    assert OTHER_RUN not in response.content.decode()


def test_the_customers_api_lists_searches_and_filters_only_the_workspaces_customers(
    site, other, shop_user
):
    from customers.models import Customer

    url = in_ws(site.workspace, "api-customers")
    listed = shop_user.get(url).json()
    assert listed["count"] == Customer.objects.in_workspace(site.workspace).count()
    assert OTHER_COUNTRY not in {c["country"] for c in listed["results"]}
    assert shop_user.get(url, {"search": "X"}).json()["count"] == 0
    assert shop_user.get(url, {"country": OTHER_COUNTRY}).json()["count"] == 0
    shared = shop_user.get(url, {"search": other.shared_id}).json()["results"]
    assert [c["country"] for c in shared] != [OTHER_COUNTRY]
    number = other.segment.number
    in_segment = shop_user.get(url, {"segment": number}).json()
    assert in_segment["count"] == site.published.segments.get(number=number).size
