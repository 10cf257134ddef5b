"""A marketer sees each segment's value ahead in a real browser, in the test shop's workspace
and its currency (pounds): on the dashboard (the value table sorts by a click) and on the
segment page (the figures and the member columns). The run is executed in-process (no worker
needed) and its value ahead written onto its rows."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from django.conf import settings

from reports.templatetags.report_format import money, pct
from tests.browser.test_journey import (  # noqa: F401
    assert_clean,
    assert_in_shop,
    browser_page,
    in_shop,
    sign_in,
)
from tests.reports.value_ahead_data import store_value_ahead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POUNDS = "£"  # the test shop's currency symbol


@pytest.fixture
def valued_run(shop, make_user):
    from clustering.services import run_publish
    from tests.clustering.factories import executed_run, load_transactions, synthetic_lines

    manager = make_user("manager", username="value-manager")
    make_user("marketing", username="value-marketing")
    load_transactions(synthetic_lines(200, seed=3), workspace=shop)
    run = executed_run(
        shop,
        manager,
        {"algorithms": ["kmeans"], "k_min": 3, "k_max": 3},
        name="Value review",
        token="value",
    )
    run_publish(workspace=shop, run_id=run.pk, user=manager)
    run.refresh_from_db()
    store_value_ahead(run)
    try:
        yield run
    finally:
        with contextlib.suppress(FileNotFoundError):
            (Path(settings.MEDIA_ROOT) / run.predictor_file).unlink()


def test_marketing_sees_value_ahead_on_the_dashboard_and_segment_page(
    browser_page,  # noqa: F811
    live_server,
    valued_run,
):
    page, base = browser_page, live_server.url
    segments = list(valued_run.segments.order_by("number"))
    sign_in(page, base, "value-marketing")

    # The dashboard's value table: highest expected value first, and it sorts by a click.
    table = page.locator("#value-table")
    assert "next 90 days" in page.locator("#value-heading").inner_text()
    names = table.locator("tbody th").all_inner_texts()
    assert names == [s.name for s in sorted(segments, key=lambda s: -s.expected_value)]
    top_value = max(segments, key=lambda s: s.expected_value).expected_value
    assert money(top_value, POUNDS) in table.locator("tbody tr").first.inner_text()
    expected_value = table.locator("thead th").nth(2)
    assert expected_value.inner_text().startswith("Expected value")
    expected_value.locator("button").click()
    assert expected_value.get_attribute("aria-sort") == "ascending"
    assert table.locator("tbody th").all_inner_texts() == names[::-1]

    # The segment page: the figures equal the stored ones; members carry their values.
    segment = max(segments, key=lambda s: s.size)
    page.goto(f"{in_shop(base)}{segment.get_absolute_url()}")
    assert_in_shop(page, base)
    figures = page.locator("#value-ahead")
    assert "next 90 days" in figures.locator("h2").inner_text()
    field = figures.locator("[data-field=expected_value]")
    assert field.inner_text() == money(segment.expected_value, POUNDS)
    assert figures.locator("[data-field=share_expected_value]").inner_text() == pct(
        segment.share_expected_value
    )
    field = figures.locator("[data-field=value_per_customer]")
    assert field.inner_text() == money(segment.value_per_customer, POUNDS)
    assert figures.locator("[data-field=median_p_alive]").inner_text() == pct(
        segment.median_p_alive
    )
    headers = page.locator("#members thead th").all_inner_texts()
    assert {"P(alive)", "Expected purchases", "Expected value"} <= {h.strip(" ▼▲") for h in headers}
    page.locator("#members thead th a", has_text="Expected value").click()
    page.wait_for_url("**sort=expected_value**")
    top = segment.assignments.exclude(expected_value=None).order_by("-expected_value").first()
    first_row = page.locator("#members tbody tr").first.inner_text()
    assert money(top.expected_value, POUNDS) in first_row
    page.screenshot(
        path=str(Path(settings.TEST_OUTPUT_DIR) / "screenshots" / "segment-value-ahead.png"),
        full_page=True,
    )
    assert_clean(page)
