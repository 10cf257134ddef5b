"""A workbook uploaded through the page, in a real browser with a real worker: the page says
the file is being read until a worker has opened it, then shows the mapping step by itself
(its preview from the rows the worker kept), and the import runs."""

from __future__ import annotations

import pytest

from tests.browser.test_journey import (  # noqa: F401 (browser_page is a fixture)
    assert_clean,
    browser_page,
    in_shop,
    sign_in,
)
from tests.conftest import require
from tests.hardening.test_xlsx_on_the_worker import grocery_xlsx
from tests.worker_process import broker_reachable, celery_worker, purge_queue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_workbook_is_read_by_the_worker_then_mapped_and_imported(
    browser_page,  # noqa: F811
    live_server,
    make_user,
    tmp_path,
):
    from customers.models import ImportRecord

    require(broker_reachable(), "the Celery broker")
    page, base = browser_page, live_server.url
    make_user("manager", username="xlsx-manager")
    purge_queue()
    workbook = tmp_path / "grocery.xlsx"
    workbook.write_bytes(grocery_xlsx())

    # No worker yet: the upload is answered at once and the page says the file is being read.
    sign_in(page, base, "xlsx-manager")
    page.goto(f"{in_shop(base)}/customers/imports/new/")
    page.set_input_files("#id_file", str(workbook))
    page.click("text=Upload and import")
    page.wait_for_selector("#import-reading")
    assert page.locator("[data-role=status]").inner_text() == "Reading the file"
    assert ImportRecord.unscoped.get().status == ImportRecord.Status.READING

    with celery_worker(name="xlsx-reader"):
        # The poller reloads once the worker has read the header: the mapping step.
        page.wait_for_selector("text=Which column holds which field?", timeout=90_000)
        assert page.input_value("#id_map_customer_id") == "household_id"
        preview = page.locator("#mapping-preview")
        assert preview.locator("[data-role=customer]").first.inner_text() == "2000"
        page.click("button:has-text('Import with this mapping')")
        page.wait_for_selector("text=Lines imported", timeout=90_000)

    record = ImportRecord.unscoped.get()
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert record.rows_imported == 8
    assert_clean(page)
