"""A marketer narrows a segment's members to a campaign's audience in a real browser: picks an
activity, or how soon their next order is due, sees only those members listed, and downloads
exactly them, with every column or the ones a mailing tool takes."""

from __future__ import annotations

import csv
import io

import pytest

from clustering.report.ad_audience import hashed_email
from clustering.report.audience import ACTIVITIES, DUE_WITHIN_CHOICES
from clustering.report.member_fit import customer_activity
from tests.browser.test_journey import (  # noqa: F401
    assert_clean,
    assert_in_shop,
    browser_page,
    in_shop,
    sign_in,
)
from tests.browser.test_value_ahead_browser import valued_run  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_marketing_lists_and_downloads_one_activity_of_a_segment(
    browser_page,  # noqa: F811
    live_server,
    valued_run,  # noqa: F811
):
    page, base = browser_page, live_server.url
    rhythm = valued_run.activity_rhythm
    assert rhythm.get("active_days") is not None, "the run measured no rhythm"
    segment = max(valued_run.segments.all(), key=lambda s: s.size)
    by_activity: dict[str, set[str]] = {a: set() for a in ACTIVITIES}
    for customer, recency, p_alive in segment.assignments.values_list(
        "customer__external_id", "recency_days", "p_alive"
    ):
        activity = customer_activity(
            recency, rhythm, p_alive=p_alive, evidence=segment.activity_evidence
        )
        by_activity[activity].add(customer)
    # the biggest activity that is not the whole segment
    narrowing = [a for a in ACTIVITIES if 0 < len(by_activity[a]) < segment.size]
    assert narrowing, "the test needs an activity that narrows the list"
    chosen = max(narrowing, key=lambda a: len(by_activity[a]))
    wanted = by_activity[chosen]

    sign_in(page, base, "value-marketing")
    page.goto(f"{in_shop(base)}{segment.get_absolute_url()}")
    assert_in_shop(page, base)
    page.select_option("#member-activity", chosen)
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(f"**activity={chosen}**")
    cells = page.locator("#members tbody td[data-activity]")
    assert set(cells.evaluate_all("cells => cells.map(c => c.dataset.activity)")) == {chosen}
    assert cells.count() == min(len(wanted), 50)
    download_link = page.locator("[data-role=audience-download]")
    assert download_link.inner_text() == f"Download these {len(wanted)} members ({chosen}) as CSV"
    with page.expect_download() as download:
        download_link.click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["Customer id"] for r in rows} == wanted
    assert {r["Activity"] for r in rows} == {chosen}

    # the same audience, two columns chosen for a mailing tool
    page.locator("[data-role=export-columns] summary").click()
    boxes = page.locator("[data-role=export-columns] input[name=fields]")
    for i in range(boxes.count()):
        boxes.nth(i).uncheck()
    page.check("[data-role=export-columns] input[value=customer_id]")
    page.check("[data-role=export-columns] input[value=activity]")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download these columns").click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["customer_id", "activity"]
    assert {r["customer_id"] for r in rows} == wanted and {r["activity"] for r in rows} == {chosen}
    assert_clean(page)


def test_marketing_lists_and_downloads_the_members_due_to_order_soon(
    browser_page,  # noqa: F811
    live_server,
    valued_run,  # noqa: F811
):
    page, base = browser_page, live_server.url
    segment = max(valued_run.segments.all(), key=lambda s: s.size)
    waits = dict(segment.assignments.values_list("customer__external_id", "next_purchase_days"))
    days = next(
        (d for d in DUE_WITHIN_CHOICES if any(w is not None and w <= d for w in waits.values())),
        None,
    )
    assert days is not None, "no member of the segment is due within 90 days"
    wanted = {c for c, w in waits.items() if w is not None and w <= days}

    sign_in(page, base, "value-marketing")
    page.goto(f"{in_shop(base)}{segment.get_absolute_url()}")
    page.select_option("#member-due", str(days))
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(f"**due_within={days}**")
    listed = page.locator("#members tbody td:first-child a").all_inner_texts()
    assert listed and set(listed) <= wanted and len(listed) == min(len(wanted), 50)
    download_link = page.locator("[data-role=audience-download]")
    many = "this member" if len(wanted) == 1 else f"these {len(wanted)} members"
    assert download_link.inner_text() == (f"Download {many} (next order within {days} days) as CSV")
    with page.expect_download() as download:
        download_link.click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    assert {r["Customer id"] for r in csv.DictReader(io.StringIO(text))} == wanted
    assert_clean(page)


def test_a_manager_downloads_an_audience_as_hashed_e_mails_for_ad_platforms(
    browser_page,  # noqa: F811
    live_server,
    valued_run,  # noqa: F811
):
    from customers.models import Customer

    page, base = browser_page, live_server.url
    segment = max(valued_run.segments.all(), key=lambda s: s.size)
    members = list(segment.assignments.values_list("customer_id", "customer__external_id"))
    for pk, external_id in members:
        Customer.objects.in_workspace(valued_run.workspace).filter(pk=pk).update(
            email=f"{external_id}@Shop.Example"
        )
    wanted = {hashed_email(f"{external_id}@shop.example") for _, external_id in members}

    sign_in(page, base, "value-manager")
    page.goto(f"{in_shop(base)}{segment.get_absolute_url()}")
    link = page.locator("[data-role=ad-audience-download]")
    assert link.inner_text() == "Hashed e-mails for ad platforms"
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith("-ad-audience.csv")
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))
    assert {r["Email"] for r in rows} == wanted and len(rows) == len(wanted)
    assert_clean(page)
