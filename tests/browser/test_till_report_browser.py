"""A till's sales report uploaded through the page, in a real browser with a real worker: a
title above the header, the date and the time of day in two columns, and a "Type" column
saying which lines are returns. The mapping step pre-selects the time of day and the line
type, its preview shows each row's time and the return's negative amount, and the import
stores them so."""

from __future__ import annotations

import pytest

from tests.browser.test_journey import (  # noqa: F401 (browser_page is a fixture)
    assert_clean,
    browser_page,
    in_shop,
    sign_in,
)
from tests.conftest import require
from tests.worker_process import broker_reachable, celery_worker, purge_queue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPORT = (
    "Daily sales report\n"
    "Shop: High St,Period: March 2024\n"
    "\n"
    "Receipt,Date,Time,Member,Item,Qty,Total,Type\n"
    "R1,13/03/2024,09:15,M100,Tea,2,6.00,Sale\n"
    "R1,13/03/2024,09:15,M100,Cake,1,3.50,Sale\n"
    "R2,14/03/2024,14:40,M200,Tea,1,3.00,Sale\n"
    "R3,15/03/2024,10:05,M100,Cake,1,3.50,Return\n"
)


def test_a_till_report_is_mapped_with_its_times_and_returns_and_imported(
    browser_page,  # noqa: F811
    live_server,
    make_user,
    tmp_path,
):
    from customers.models import ImportRecord, TransactionLine

    require(broker_reachable(), "the Celery broker")
    page, base = browser_page, live_server.url
    make_user("manager", username="till-manager")
    purge_queue()
    report = tmp_path / "sales-report.csv"
    report.write_text(REPORT)

    sign_in(page, base, "till-manager")
    page.goto(f"{in_shop(base)}/customers/imports/new/")
    page.set_input_files("#id_file", str(report))
    page.click("text=Upload and import")
    page.wait_for_selector("text=Which column holds which field?")
    assert page.input_value("#id_map_customer_id") == "Member"
    assert page.input_value("#id_map_time") == "Time"
    assert page.input_value("#id_map_line_type") == "Type"
    preview = page.locator("#mapping-preview")
    assert "09:15" in preview.locator("[data-role=date]").first.inner_text()
    amounts = preview.locator("[data-role=amount]").all_inner_texts()
    assert len(amounts) == 4 and amounts[3].startswith("-") and "3.50" in amounts[3]

    with celery_worker(name="till-importer"):
        page.click("button:has-text('Import with this mapping')")
        page.wait_for_selector("text=Lines imported", timeout=90_000)
    assert "Lines 1 to 3 were skipped" in page.inner_text("main")
    read = page.locator("#import-columns tbody tr").all_inner_texts()
    assert "Time of day\tTime" in read and "Line type (sale or refund)\tType" in read

    record = ImportRecord.unscoped.get()
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    cake = TransactionLine.unscoped.get(invoice="R3")
    assert (cake.quantity, cake.amount, cake.is_return) == (-1, -3.5, True)
    assert_clean(page)
