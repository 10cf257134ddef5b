"""Every page a role reaches from the navigation, at a desktop and a phone size, checked by
axe-core (axe-playwright-python, which ships axe.min.js: nothing is fetched) in a real
browser: no critical or serious violation, no console error, no Content-Security-Policy
violation. The pages are found by reading the navigation's links from the dashboard, so a
page is checked as soon as the navigation offers it, plus the pages behind the navigation
a reader opens most: a run report, a segment page and a customer lookup's result.

One test walks the three roles at both sizes (one browser, one context per role and size)
over one world of two published runs, and reports every problem at once: a test per role
and size would either rebuild the runs each time or, with module-scoped data, hold
SQLite's write lock in the test's transaction while the live server signs users in.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from django.conf import settings

from tests.browser.test_journey import (
    CHROMIUM,
    CHROMIUM_ARGS,
    CSP_LISTENER,
    in_shop,
    sign_in,
)
from tests.conftest import require

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROLES = ["marketing", "manager", "admin"]
SIZES = [(1366, 900), (390, 844)]
BLOCKING = {"critical", "serious"}
# Violations inside third-party markup that CSS cannot fix, each with its decision record
# in docs/decisions/accessibility.md: (rule id, the exact selector axe reports).
ALLOWED: set[tuple[str, str]] = set()
# Pages that draw themselves after loading: what shows they are drawn.
DRAWN_WHEN = {"/api/v1/docs/": ".swagger-ui .opblock-tag"}


@dataclass
class World:
    users: dict[str, str]  # role -> username
    reader_pages: list[str]  # paths inside the workspace


@pytest.fixture
def world(shop, make_user, tmp_path):
    """Two published runs (so the movements pages have flows), one user per role, and the
    reader's pages: the current run's report, its first segment, a customer's lookup, the
    erasure of their contact details (its confirmation), a lookup by e-mail that finds
    two customers, the erasure of many, and an import that failed on its dates (with its
    form to import the file again)."""
    from clustering.models import SegmentAssignment
    from clustering.services import run_publish
    from tests.clustering.factories import executed_run, load_transactions, synthetic_lines

    users = {role: make_user(role, username=f"a11y-{role}") for role in ROLES}
    manager = users["manager"]
    load_transactions(synthetic_lines(200, seed=3), workspace=shop)
    runs = []
    for k in (3, 4):
        run = executed_run(
            shop,
            manager,
            {"algorithms": ["kmeans"], "k_min": k, "k_max": k},
            name=f"Review with {k} segments",
            token="a11y",
        )
        run_publish(workspace=shop, run_id=run.pk, user=manager)
        runs.append(run)
    current = runs[-1]
    customer_pk, customer_id = (
        SegmentAssignment.objects.in_workspace(shop)
        .filter(run=current)
        .values_list("customer_id", "customer__external_id")
        .first()
    )
    # one person, two accounts: the lookup by e-mail lists both (not for marketing)
    from customers.models import Customer

    two = Customer.objects.in_workspace(shop).order_by("pk").values_list("pk", flat=True)[:2]
    Customer.objects.in_workspace(shop).filter(pk__in=list(two)).update(email="ann@example.com")
    from tests.customers.conftest import import_path

    dates = tmp_path / "us.csv"
    dates.write_text("cust,when,total\nc1,11/8/2016,12.50\n")
    mapping = {"customer_id": "cust", "timestamp": "when", "amount": "total"}
    failed = import_path(dates, workspace=shop, mapping=mapping)
    from webhooks.models import Endpoint

    teams = Endpoint.objects.create(
        workspace=shop,
        url="https://93.184.215.14/hook",
        format="teams",
        alert_kinds=["scheduled_run_failed"],
    )
    pages = [
        current.get_absolute_url(),
        current.segments.order_by("number").first().get_absolute_url(),
        "/customers/lookup/?" + urlencode({"customer_id": customer_id}),
        f"/customers/{customer_pk}/erase-contact/",  # the confirmation (not for marketing)
        f"/customers/{customer_pk}/lines/",  # to remove a line or the customer (not marketing)
        f"/customers/{customer_pk}/remove/",  # the confirmation (not for marketing)
        "/customers/kept-out/",  # ids imports skip (not for marketing)
        "/customers/lookup/?" + urlencode({"customer_id": "ann@example.com"}),
        "/customers/erase-contact/",  # many at once (not for marketing)
        failed.get_absolute_url(),  # not for marketing
        f"/webhooks/{teams.pk}/",  # its events and alert kinds (not for marketing)
    ]
    try:
        yield World({role: user.get_username() for role, user in users.items()}, pages)
    finally:
        for run in runs:
            with contextlib.suppress(FileNotFoundError):
                (Path(settings.MEDIA_ROOT) / run.predictor_file).unlink()


@pytest.fixture
def browser(monkeypatch):
    require(CHROMIUM.exists(), "Debian's chromium")
    # Playwright's sync API keeps an event loop on this thread; the ORM calls the test makes
    # meanwhile are ordinary blocking calls, which Django would otherwise refuse.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
            from django.db import connections

            connections.close_all()


def axe_blocking(page) -> list[str]:
    """The page's critical and serious axe-core violations (less the recorded exceptions),
    one line per rule: impact, how many elements, the first few targets, help and fix."""
    from axe_playwright_python.sync_playwright import Axe

    lines = []
    for violation in Axe().run(page).response["violations"]:
        if violation["impact"] not in BLOCKING:
            continue
        nodes = [
            node
            for node in violation["nodes"]
            if (violation["id"], " ".join(map(str, node["target"]))) not in ALLOWED
        ]
        if not nodes:
            continue
        targets = "; ".join(" ".join(map(str, n["target"])) for n in nodes[:3])
        fix = (nodes[0].get("failureSummary") or "").replace("\n", " ")
        lines.append(
            f"{violation['id']} ({violation['impact']}, {len(nodes)} elements) {targets}: "
            f"{violation['help']}. {fix}"
        )
    return lines


def navigation_links(page, base: str) -> list[str]:
    """The navigation's pages, as the dashboard lists them for the signed-in user."""
    page.goto(f"{in_shop(base)}/")
    links = page.locator("nav[aria-label=Main] a").evaluate_all("(as) => as.map((a) => a.href)")
    return list(dict.fromkeys(links))


def walk(browser, base: str, username: str, reader_pages: list[str], size) -> tuple[list, list]:
    """Sign in at `size`, check every page; returns (pages checked, problems found)."""
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.set_default_timeout(30_000)
    console: list[str] = []
    page.on(
        "console",
        lambda m: (
            console.append(f"console {m.type}: {m.text}")
            if m.type == "error" or "Content Security Policy" in m.text
            else None
        ),
    )
    page.on("pageerror", lambda e: console.append(f"page error: {e}"))
    checked: list[str] = []
    problems: list[str] = []
    try:
        sign_in(page, base, username)
        others = [f"{in_shop(base)}{path}" for path in reader_pages]
        for url in navigation_links(page, base) + others:
            console.clear()
            response = page.goto(url)
            path = urlsplit(url).path
            if response is not None and response.status == 403 and url in others:
                continue  # a page this role may not open (marketing: a run report)
            if response is None or not response.ok:
                problems.append(f"{path}: HTTP {response.status if response else 'none'}")
                continue
            # goto waits for "load": the pages' own scripts (deferred) have run by then.
            for suffix, drawn in DRAWN_WHEN.items():
                if path.endswith(suffix):
                    page.wait_for_selector(drawn)
            checked.append(path)
            problems += [f"{path}: {line}" for line in axe_blocking(page)]
            problems += [f"{path}: {line}" for line in console]
            csp = page.evaluate("window.__cspViolations || []")
            problems += [f"{path}: CSP {line}" for line in csp]
    finally:
        context.close()
    return checked, problems


def test_every_page_from_the_navigation_passes_axe_at_desktop_and_phone_size(
    browser, live_server, world
):
    report: list[str] = []
    for role in ROLES:
        for size in SIZES:
            checked, problems = walk(
                browser, live_server.url, world.users[role], world.reader_pages, size
            )
            where = f"{role} at {size[0]}x{size[1]}"
            # The walk found the navigation and the reader's pages (marketing: no report).
            assert len(checked) >= 6, f"{where}: {checked}"
            report += [f"{where} {line}" for line in problems]
    assert report == [], "\n".join(report)
