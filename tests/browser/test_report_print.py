"""The run report printed (Chromium's print media, A4): the summary (what was found, why)
on at most three pages, then what explains it further and the details, folded on screen
and printed open after it; nothing wider than the page, the navigation left out; the PDFs
are kept for a look."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.browser.test_journey import (  # noqa: F401
    assert_clean,
    browser_page,
    in_shop,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A4 less the print stylesheet's 12 mm margins, in CSS pixels (96 per inch).
PRINTABLE_WIDTH = round((210 - 2 * 12) / 25.4 * 96)

# On paper print.css moves some of the report's sections after the summary (CSS `order`):
# removing every element whose order is not 0 leaves the summary alone.
KEEP_SUMMARY_ONLY = """
() => Array.from(document.querySelectorAll("main > *"))
  .filter((e) => getComputedStyle(e).order !== "0")
  .forEach((e) => e.remove())
"""
# The summary's bottom edge and the top of each section printed after it.
ORDER_ON_PAPER = """
() => {
  const children = Array.from(document.querySelectorAll("main > *"));
  const summary = children.filter((e) => getComputedStyle(e).order === "0");
  const after = children.filter((e) => getComputedStyle(e).order !== "0");
  return {
    summaryBottom: Math.max(...summary.map((e) => e.getBoundingClientRect().bottom)),
    afterTops: after.map((e) => e.getBoundingClientRect().top),
    after: after.map((e) => e.querySelector("h2") && e.querySelector("h2").textContent),
  };
}
"""


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


# Elements whose right edge passes the page's (a little slack for sub-pixel rounding).
TOO_WIDE = """
(width) => Array.from(document.querySelectorAll("body *"))
  .filter((e) => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.right > width + 2;
  })
  .map((e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
    + (e.className && typeof e.className === "string" ? "." + e.className.split(" ")[0] : "")
    + " " + Math.round(e.getBoundingClientRect().right))
"""


@pytest.fixture
def printed_run(shop, make_user):
    from tests.clustering.factories import executed_run, load_transactions, synthetic_lines

    manager = make_user("manager", username="print-manager")
    load_transactions(synthetic_lines(200, seed=3), workspace=shop)
    run = executed_run(
        shop,
        manager,
        {"algorithms": ["kmeans", "gmm"], "k_min": 2, "k_max": 8},
        name="Print review",
        token="print",
    )
    try:
        yield run
    finally:
        with contextlib.suppress(FileNotFoundError):
            (Path(settings.MEDIA_ROOT) / run.predictor_file).unlink()


def test_the_printed_summary_fits_three_pages_and_the_details_follow_open(
    browser_page,  # noqa: F811
    live_server,
    printed_run,
):
    page, base = browser_page, live_server.url
    sign_in(page, base, "print-manager")
    page.set_viewport_size({"width": PRINTABLE_WIDTH, "height": 1100})
    page.goto(f"{in_shop(base)}{printed_run.get_absolute_url()}")
    assert page.locator("canvas").count() >= 5  # elbow, three scores, map (and holdout)
    page.emulate_media(media="print")

    assert page.locator("nav[aria-label=Main]").is_hidden()
    candidates = page.locator("[data-role=candidates]")
    assert candidates.bounding_box()["height"] > 0  # folded on screen, open on paper
    assert page.locator("#details-timings table").bounding_box()["height"] > 0
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate(TOO_WIDE, width) == []
    summary = page.locator("#summary-heading").bounding_box()["y"]
    assert summary < page.locator("#justification-heading").bounding_box()["y"]

    # The summary leads; the names' conditions, the map, the RFM grid and the details
    # follow it on paper.
    order = page.evaluate(ORDER_ON_PAPER)
    assert "Details" in order["after"], order
    assert min(order["afterTops"]) >= order["summaryBottom"], order

    out = Path(settings.TEST_OUTPUT_DIR)
    out.mkdir(parents=True, exist_ok=True)
    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    (out / "run-report.pdf").write_bytes(pdf)
    page.evaluate(KEEP_SUMMARY_ONLY)
    for heading in ("summary", "profiles", "value", "justification", "elbow"):
        assert page.locator(f"#{heading}-heading").count() == 1, heading  # still the summary
    assert page.evaluate(TOO_WIDE, width) == []
    summary_pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    (out / "run-report-summary.pdf").write_bytes(summary_pdf)
    assert page_count(summary_pdf) <= 3, page_count(summary_pdf)
    assert page_count(pdf) > page_count(summary_pdf)  # the details on pages after it
    assert_clean(page)
