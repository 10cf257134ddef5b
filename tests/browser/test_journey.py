"""A manager and a marketer use the site in a real browser, against a live server and a real
worker process: import, run, watch the progress, read the report, publish, open a segment,
download its members. All of it inside the test shop's workspace (/w/shop/...), whose name
the pages show and whose currency the amounts carry. No console errors, no
Content-Security-Policy violations."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import require
from tests.shops import SHOP
from tests.worker_process import broker_reachable, celery_worker, purge_queue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path("/usr/bin/chromium")
SLICE = Path(__file__).resolve().parent.parent / "fixtures" / "online_retail_slice.csv"
PASSWORD = "pw-for-tests-1"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Collects CSP violations the page itself sees (besides the console messages).
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""
# For each canvas: its size and whether any pixel was drawn.
CANVAS_STATE = """
() => Array.from(document.querySelectorAll("canvas")).map((c) => {
  const ctx = c.getContext("2d");
  const data = ctx.getImageData(0, 0, c.width, c.height).data;
  let drawn = 0;
  for (let i = 3; i < data.length; i += 4) { if (data[i] !== 0) drawn++; }
  return { id: c.id, width: c.width, height: c.height, drawn: drawn };
})
"""
ALL_DRAWN = f"() => ({CANVAS_STATE.strip()})().every((canvas) => canvas.drawn > 100)"


@pytest.fixture
def browser_page(monkeypatch):
    require(CHROMIUM.exists(), "Debian's chromium")
    # Playwright's sync API keeps an event loop on this thread; the ORM calls the test makes
    # meanwhile are ordinary blocking calls, which Django would otherwise refuse.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        page.set_default_timeout(30_000)
        problems: list[str] = []
        page.on(
            "console",
            lambda m: (
                problems.append(f"console {m.type}: {m.text}")
                if m.type == "error" or "Content Security Policy" in m.text
                else None
            ),
        )
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("dialog", lambda d: d.accept())  # "Publish this segmentation?"
        page.problems = problems
        try:
            yield page
        finally:
            context.close()
            browser.close()
            # While Playwright's loop runs on this thread, Django keeps this test's database
            # connections apart (per context); close them here, or they outlive the test and
            # the test database cannot be dropped at the end of the run.
            from django.db import connections

            connections.close_all()


def in_shop(base: str) -> str:
    """The test shop's workspace on the live server: every page of the journey is under it."""
    return f"{base}/w/{SHOP['slug']}"


def sign_in(page, base: str, username: str) -> None:
    """Open the workspace's dashboard, sign in when asked, and land back on it."""
    page.goto(f"{in_shop(base)}/")
    page.wait_for_url("**/login/**")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{in_shop(base)}/")
    assert_in_shop(page, base)


def assert_in_shop(page, base: str) -> None:
    """The page is the test shop's: under its prefix, and its header names it."""
    assert page.url.startswith(f"{in_shop(base)}/"), page.url
    assert page.locator("[data-role=workspace-name]").inner_text() == SHOP["name"]


def sign_out(page) -> None:
    page.click("text=Log out")
    page.wait_for_url("**/login/**")


def assert_clean(page) -> None:
    violations = page.evaluate("window.__cspViolations || []")
    assert violations == [], violations
    assert page.problems == [], page.problems


def test_manager_runs_and_publishes_marketing_downloads(browser_page, live_server, make_user):
    require(broker_reachable(), "the Celery broker")
    page, base = browser_page, live_server.url
    shop = in_shop(base)
    shots = Path(settings.TEST_OUTPUT_DIR) / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    make_user("manager", username="journey-manager")
    make_user("marketing", username="journey-marketing")
    purge_queue()
    started = time.monotonic()

    with celery_worker(name="journey"):
        # The manager imports a slice of Online Retail through the upload page.
        sign_in(page, base, "journey-manager")
        page.goto(f"{shop}/")
        assert page.get_by_text("No published segmentation yet — start a run").is_visible()
        page.goto(f"{shop}/customers/imports/new/")
        page.set_input_files("#id_file", str(SLICE))
        page.click("text=Upload and import")
        page.wait_for_selector("text=Lines imported", timeout=90_000)  # the worker finished
        assert_in_shop(page, base)

        # ...starts a small run through the advanced fields...
        page.goto(f"{shop}/runs/new/")
        page.fill("#id_name", "Browser journey")
        page.click("summary:has-text('Advanced parameters')")
        for box in page.locator("input[name=algorithms]").all():
            value = box.get_attribute("value")
            box.set_checked(value in ("kmeans", "gmm"))
        # A mistake first: the error shows beside the field and nothing typed is lost.
        page.fill("#id_k_min", "5")
        page.fill("#id_k_max", "3")
        page.click("text=Start the run")
        error = page.locator("#id_k_max-error")
        assert "Must be an integer ≥ “fewest segments”" in error.inner_text()
        assert error.is_visible()  # the advanced section opened by itself
        assert page.input_value("#id_name") == "Browser journey"
        assert page.locator("input[name=algorithms]:checked").count() == 2
        page.screenshot(path=str(shots / "run-form-error.png"), full_page=True)
        page.fill("#id_k_min", "2")
        page.fill("#id_k_max", "5")
        page.click("text=Start the run")
        page.wait_for_url(f"{shop}/runs/*/")
        progress_seen = page.locator("#run-percent").count() == 1

        # ...watches the live progress bar until the page turns into the report.
        page.wait_for_selector("#chart-pca", timeout=120_000)
        assert progress_seen, "the run page showed no progress bar while the run was queued"
        assert page.locator("[data-role=status]").first.inner_text() == "Succeeded"
        # The charts draw once the report's script has run: wait for it (the page may have just
        # turned from the progress bar into the report), then say which one did not draw.
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_function(ALL_DRAWN, timeout=30_000)
        canvases = page.evaluate(CANVAS_STATE)
        assert len(canvases) == 5, canvases
        for canvas in canvases:
            assert canvas["width"] > 0 and canvas["height"] > 0, canvas
            assert canvas["drawn"] > 100, canvas
        # The candidates table, folded among the details, opens and sorts by a column, and
        # says so.
        page.locator("#details-candidates > summary").click()
        header = page.locator("table[data-sortable] th", has_text="Silhouette")
        header.locator("button").click()
        assert header.get_attribute("aria-sort") == "ascending"
        page.screenshot(path=str(shots / "run-report.png"), full_page=True)
        page.emulate_media(media="print")  # the A4 print stylesheet: no navigation, no forms
        assert not page.locator(".site-header nav").is_visible()
        page.screenshot(path=str(shots / "run-report-print.png"), full_page=True)
        page.emulate_media(media="screen")

        # ...and publishes it.
        page.click("button:has-text('Publish')")
        page.wait_for_selector("text=Published on")
        assert_in_shop(page, base)
        assert_clean(page)
        sign_out(page)

    # Marketing sees the segments, opens one and downloads its members.
    sign_in(page, base, "journey-marketing")
    cards = page.locator(".segment-card")
    assert cards.count() >= 2
    assert page.evaluate(CANVAS_STATE)[0]["drawn"] > 100
    page.screenshot(path=str(shots / "dashboard.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.screenshot(path=str(shots / "dashboard-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    cards.first.locator("a").first.click()
    page.wait_for_selector("#chart-lift")
    assert_in_shop(page, base)
    # Amounts in the shop's currency (pounds): the members' spend, at least.
    assert "£" in page.locator("#members tbody").inner_text()
    assert page.evaluate(CANVAS_STATE)[0]["drawn"] > 100
    page.screenshot(path=str(shots / "segment.png"), full_page=True)
    with page.expect_download() as download_info:
        page.click("text=/Download all .* members \\(CSV\\)/")
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    # what a marketing tool takes: named columns, the amounts' currency in their headers
    assert text.splitlines()[0].startswith("Customer id,Country,Segment,Recommended action")
    assert "Total spend (GBP)" in text.splitlines()[0]
    assert len(text.splitlines()) > 1
    customer_id = text.splitlines()[1].split(",")[0]
    page.click("nav >> text=Customer lookup")
    page.fill("#id_customer_id", customer_id)
    page.press("#id_customer_id", "Enter")  # the keyboard is enough
    page.wait_for_selector(f"text=Customer {customer_id}")
    assert_in_shop(page, base)
    assert "£" in page.locator("#lines-heading + div table").inner_text()
    page.screenshot(path=str(shots / "customer-lookup.png"), full_page=True)
    assert_clean(page)
    assert time.monotonic() - started < 240
