"""The pages for each role: status codes, what each shows, empty states, query counts."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.workspace_access import workspace_url

pytestmark = pytest.mark.django_db

# Every member has a role in the workspace; a user of no workspace meets the accounts app's
# "no workspace" page instead (tests/accounts), and another workspace's member a 404 (below).
ROLES = ["marketing", "manager", "admin"]


def page_urls(site):
    run, segment = site.published, site.published.segments.first()
    earlier_segment = site.earlier.segments.first()
    return {
        "dashboard": reverse("home"),
        "lookup": reverse("customer-lookup") + f"?customer_id={site.customer_id}",
        "compare": reverse("run-compare"),
        "run list": reverse("clustering:run-list"),
        "run form": reverse("clustering:run-create"),
        "run report": reverse("clustering:run-detail", args=[run.pk]),
        "run status": reverse("clustering:run-status", args=[run.pk]),
        "report json": reverse("clustering:run-report-json", args=[run.pk]),
        "candidates csv": reverse("clustering:run-candidates-csv", args=[run.pk]),
        "assignments csv": reverse("clustering:run-assignments-csv", args=[run.pk]),
        "segment": segment.get_absolute_url(),
        "segment csv": reverse("clustering:segment-members-csv", args=[run.pk, segment.number]),
        "unpublished segment": earlier_segment.get_absolute_url(),
    }


# page -> expected status for: marketing, manager, admin
EXPECTED = {
    "dashboard": (200, 200, 200),
    "lookup": (200, 200, 200),
    "compare": (403, 200, 200),
    "run list": (403, 200, 200),
    "run form": (403, 200, 200),
    "run report": (403, 200, 200),
    "run status": (403, 200, 200),
    "report json": (403, 200, 200),
    "candidates csv": (403, 200, 200),
    "assignments csv": (403, 200, 200),
    "segment": (200, 200, 200),
    "segment csv": (200, 200, 200),
    # A segment of a run that is no longer published: only for readers of run reports.
    "unpublished segment": (403, 200, 200),
}


def test_each_page_answers_each_role_as_its_permissions_say(site, client_for):
    urls = page_urls(site)
    clients = [client_for(role) for role in ROLES]
    got = {name: tuple(c.get(url).status_code for c in clients) for name, url in urls.items()}
    assert got == EXPECTED


def test_anonymous_visitors_are_sent_to_sign_in(site):
    for name, url in page_urls(site).items():
        response = Client().get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("login")), name


def test_a_forbidden_page_is_the_friendly_403_page(site, client_for):
    response = client_for("marketing").get(reverse("clustering:run-list"))
    assert response.status_code == 403
    assert b"have access to this page" in response.content


@pytest.mark.parametrize("prefixed", [False, True], ids=["plain", "workspace-prefix"])
def test_the_navigation_marks_the_page_it_is_on_and_only_that(client_for, shop, prefixed):
    client = client_for("manager")
    for name, label in (
        ("home", "Dashboard"),
        ("movements", "Movements"),
        ("customer-lookup", "Customer lookup"),
        ("customers:import-list", "Imports"),
        ("clustering:run-list", "Runs"),
        ("clustering:playbook", "Playbook"),  # under the runs' path: only its own
    ):
        path = reverse(name)  # outside a request: no workspace prefix
        url = workspace_url(shop, path) if prefixed else path
        page = client.get(url).content.decode()
        nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', page, re.S).group(1)
        assert re.findall(r'aria-current="page">([^<]+)<', nav) == [label], url


@pytest.mark.parametrize(
    ("role", "visible", "hidden"),
    [
        ("marketing", ["Dashboard", "Customer lookup", "API tokens", "API docs"],
         ["Runs<", "Compare runs", "Imports", "Admin"]),
        ("manager", ["Dashboard", "Customer lookup", "Runs<", "Compare runs", "Imports"],
         ["Admin"]),
        # The admin role gives no Django admin site (that is the superusers', across
        # workspaces).
        ("admin", ["Dashboard", "Customer lookup", "Runs<", "Compare runs", "Imports"],
         [">Admin<"]),
    ],
)  # fmt: skip
def test_navigation_lists_only_the_pages_the_role_may_use(client_for, role, visible, hidden):
    page = client_for(role).get(reverse("home")).content.decode()
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', page, re.S).group(1)
    for label in visible:
        assert label in nav, label
    for label in hidden:
        assert label not in nav, label


# ------------------------------------------------------------------------------ dashboard
def test_dashboard_shows_one_card_per_published_segment(site, client_for):
    page = client_for("marketing").get(reverse("home")).content.decode()
    segments = list(site.published.segments.order_by("number"))
    assert page.count('class="card segment-card') == len(segments)
    for segment in segments:
        assert segment.name in page
        assert f"{100 * segment.share_customers:.1f}%" in page
        assert f"{100 * segment.share_revenue:.1f}%" in page
        assert segment.get_absolute_url() in page
    assert "Spring review" in page and "site-manager" in page  # which run, published by whom
    assert 'id="share-data"' in page and 'data-chart="share"' in page
    assert "synthetic.csv" in page  # the last import
    assert "Background worker" not in page  # marketing cannot act on it (test_dashboard)


def test_dashboard_links_the_report_only_for_managers(site, client_for):
    report = f'href="{workspace_url(site.workspace, site.published.get_absolute_url())}"'
    assert report not in client_for("marketing").get(reverse("home")).content.decode()
    assert report in client_for("manager").get(reverse("home")).content.decode()


def test_dashboard_keeps_its_query_count_small(site, client_for, django_assert_max_num_queries):
    client = client_for("manager")
    # The first view after a publication computes its movements once (cached; its cost is
    # bounded in tests/reports/test_movements_over_time.py); this is every other view.
    client.get(reverse("home"))
    with django_assert_max_num_queries(12):
        assert client.get(reverse("home")).status_code == 200


# ------------------------------------------------------------------------------ lookup
def test_customer_lookup_shows_segment_confidence_history_and_lines(site, client_for):

    client = client_for("marketing")
    page = client.get(reverse("customer-lookup"), {"customer_id": site.customer_id})
    html = page.content.decode()
    current = site.published.assignments.select_related("segment").get(
        customer__external_id=site.customer_id
    )
    earlier = site.earlier.assignments.select_related("segment").get(
        customer__external_id=site.customer_id
    )
    assert f"Customer {site.customer_id}" in html
    assert current.segment.name in html and current.segment.action in html
    # the fit in words (clustering.engine.fit), not an unexplained percentage
    assert f"confidence {100 * current.confidence:.0f}%" not in html
    assert re.search(r"\((typical member|clear member|borderline)[^;]*; RFM grid:", html)
    assert "Segment at each publication" in html and earlier.segment.name in html
    assert "Earlier run" in html
    assert "Recent transaction lines" in html and "purchase" in html
    assert "Days since last purchase" in html  # the features
    # marketing may not remove lines, so it is not offered the page that does
    assert "All lines, to remove one" not in html


def test_customer_lookup_leaves_out_the_features_the_runs_profiles_left_out(site, client_for):
    # as a run does for a feature with one value in the whole shop (CDNOW's return rate)
    current = site.published.assignments.select_related("segment").get(
        customer__external_id=site.customer_id
    )
    segment = current.segment
    assert "return_rate" in segment.medians
    segment.medians = {k: v for k, v in segment.medians.items() if k != "return_rate"}
    segment.save(update_fields=["medians"])
    client = client_for("marketing")
    html = client.get(reverse("customer-lookup"), {"customer_id": site.customer_id}).content
    features = html.decode().split('id="features-heading"')[1].split("</section>")[0]
    assert "Days since last purchase" in features and "Return rate" not in features


def test_customer_lookup_links_managers_to_the_lines_they_may_remove(site, client_for):
    from customers.models import Customer

    client = client_for("manager")
    html = client.get(reverse("customer-lookup"), {"customer_id": site.customer_id}).content
    customer = Customer.objects.in_workspace(site.workspace).get(external_id=site.customer_id)
    link = workspace_url(site.workspace, reverse("customers:customer-lines", args=[customer.pk]))
    assert f'<a href="{link}">All lines, to remove one or the customer</a>' in html.decode()
    assert client.get(link).status_code == 200


def test_customer_lookup_of_an_unknown_id_says_so(client_for):
    response = client_for("marketing").get(reverse("customer-lookup"), {"customer_id": "=nope"})
    assert response.status_code == 404  # the page, saying so
    assert "No customer with id “=nope”" in response.content.decode()


def test_customer_lookup_starts_with_an_empty_search(client_for):
    response = client_for("marketing").get(reverse("customer-lookup"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_customer_id">Customer id</label>' in html
    assert "Enter a customer id" in html


def test_customer_lookup_query_count(site, client_for, django_assert_max_num_queries):
    client = client_for("marketing")
    with django_assert_max_num_queries(12):
        client.get(reverse("customer-lookup"), {"customer_id": site.customer_id})


# ------------------------------------------------------------------------------ compare
def test_compare_defaults_to_the_two_newest_runs_and_spells_out_movements(site, client_for):
    from clustering.selectors import run_transitions

    html = client_for("manager").get(reverse("run-compare")).content.decode()
    assert "Earlier run" in html and "Spring review" in html
    transitions = run_transitions(site.earlier, site.published, workspace=site.workspace)
    moves = sorted(
        (t for t in transitions if t["from"] != t["to"] and t["to"]),
        key=lambda t: -t["customers"],
    )
    if moves:
        top = moves[0]
        assert (
            f"<strong>{top['customers']}</strong> {top['from']} customers are now {top['to']}"
            in html
        )
    total = sum(t["customers"] for t in transitions)
    assert f"{total} customers of the earlier run" in html
    assert 'class="heatmap"' in html


def test_compare_refuses_the_same_run_twice(site, client_for):
    pk = site.published.pk
    html = client_for("manager").get(reverse("run-compare"), {"before": pk, "after": pk})
    assert "Pick a different run" in html.content.decode()


def test_pages_have_no_inline_script_style_or_handlers(site, client_for):
    client = client_for("admin")
    for name, url in page_urls(site).items():
        response = client.get(url)
        if not response["Content-Type"].startswith("text/html"):
            continue
        html = response.content.decode()
        assert "unsafe-inline" not in response["Content-Security-Policy"]
        assert "<style" not in html, name
        assert " style=" not in html, name
        assert not re.search(r"\son[a-z]+=", html), name
        for script in re.findall(r"<script([^>]*)>", html):
            assert "src=" in script or 'type="application/json"' in script, (name, script)


def test_report_pages_answer_with_few_queries(site, client_for):
    client = client_for("manager")
    for name, url in page_urls(site).items():
        client.get(url)  # the dashboard's movements are computed once per publication
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)
        assert len(queries) <= 14, (name, [q["sql"][:120] for q in queries])


def test_segment_history_leaves_the_runs_json_reports_behind(site):
    """A customer's history names runs and segments; it must not pull every run's PCA
    points and profiles (hundreds of kB a run) to do so, nor query again per row."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from clustering.selectors import customer_segment_history
    from customers.models import Customer

    customer = Customer.objects.in_workspace(site.workspace).get(external_id=site.customer_id)
    with CaptureQueriesContext(connection) as queries:
        history = list(customer_segment_history(customer.pk, workspace=site.workspace))
        shown = [(a.run.name, a.run.published_at, a.segment.name) for a in history]
    assert shown and len(queries) == 1
    sql = queries[0]["sql"]
    assert '"pca"' not in sql and '"params"' not in sql and '"published_at"' in sql
