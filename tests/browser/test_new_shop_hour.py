"""A new shop's first hour in a real browser (issue 22), against a live server and a real
worker: a file of a layout the tool has never seen is uploaded, the pre-selected mapping is
accepted after its preview, imported; a run with the defaults, its report, the dashboard, a
segment page and its members' download. Then another file of the same layout imports without
asking, and a file of that layout whose date column holds week numbers stops before writing.
No console errors, no Content-Security-Policy violations."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from clustering.engine.synthetic import make_transactions
from tests.browser.test_journey import (  # noqa: F401 (browser_page is a fixture)
    assert_clean,
    assert_in_shop,
    browser_page,
    in_shop,
    sign_in,
)
from tests.conftest import require
from tests.worker_process import broker_reachable, celery_worker, purge_queue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Other names than any layout the tool recognises; till and promotion columns are extra.
COLUMNS = {
    "customer_id": "loyalty_id",
    "invoice": "receipt_no",
    "product_code": "sku",
    "quantity": "units",
    "amount": "net_sales",
    "timestamp": "transaction_date",
}


def shop_file(path: Path, *, seed: int, prefix: str, week_numbers: bool = False) -> Path:
    lines = make_transactions(120, seed=seed)
    frame = pd.DataFrame({column: lines[field] for field, column in COLUMNS.items()})
    frame["loyalty_id"] = prefix + frame["loyalty_id"].astype(str)
    frame["net_sales"] = lines["amount"].round(2)
    if week_numbers:
        frame["transaction_date"] = lines["timestamp"].dt.isocalendar().week.astype(int)
    else:
        frame["transaction_date"] = lines["timestamp"].dt.strftime("%Y-%m-%d %H:%M")
    frame["till_no"] = (lines.index % 4) + 1
    frame["promo_disc"] = -(lines.index % 3) * 0.5
    frame.to_csv(path, index=False)
    return path


def test_a_new_shops_first_hour(browser_page, live_server, make_user, tmp_path):  # noqa: F811
    from customers.models import ImportLayout, ImportRecord, TransactionLine

    require(broker_reachable(), "the Celery broker")
    page, base = browser_page, live_server.url
    shop = in_shop(base)
    make_user("manager", username="hour-manager")
    purge_queue()

    with celery_worker(name="new-shop-hour"):
        sign_in(page, base, "hour-manager")
        page.goto(f"{shop}/customers/imports/new/")
        page.set_input_files(
            "#id_file", str(shop_file(tmp_path / "tills.csv", seed=11, prefix="L"))
        )
        page.click("text=Upload and import")

        # The mapping step: the guesses are pre-selected, explained, previewed.
        page.wait_for_selector("text=Which column holds which field?")
        assert_in_shop(page, base)
        for field, column in COLUMNS.items():
            assert page.input_value(f"#id_map_{field}") == column, field
        assert page.input_value("#id_map_unit_price") == ""
        ignored = page.locator("#ignored-columns").inner_text()
        assert "“till_no”" in ignored and "“promo_disc”" in ignored
        preview = page.locator("#mapping-preview")
        first_customer = preview.locator("[data-role=customer]").first.inner_text()
        assert first_customer.startswith("L")
        assert "£" in preview.locator("[data-role=amount]").first.inner_text()
        page.click("button:has-text('Preview with this mapping')")
        page.wait_for_selector("#mapping-preview")
        assert page.input_value("#id_map_customer_id") == "loyalty_id"  # kept after preview
        assert page.locator("[data-role=problem]").count() == 0
        page.click("button:has-text('Import with this mapping')")
        page.wait_for_selector("text=Lines imported", timeout=90_000)
        first = ImportRecord.unscoped.get()
        assert first.status == ImportRecord.Status.SUCCEEDED, first.error
        assert page.locator("#layout-used").is_visible()  # remembered from now on

        # A run with the defaults, from the import's next step.
        page.click("text=Start a segmentation")
        page.wait_for_url(f"{shop}/runs/new/")
        page.click("text=Start the run")
        page.wait_for_url(f"{shop}/runs/*/")
        page.wait_for_selector("#chart-pca", timeout=180_000)  # the report
        assert page.locator("[data-role=status]").first.inner_text() == "Succeeded"
        page.click("button:has-text('Publish')")
        page.wait_for_selector("text=Published on")

        # The dashboard, a segment, its members.
        page.goto(f"{shop}/")
        cards = page.locator(".segment-card")
        assert cards.count() >= 2
        cards.first.locator("a").first.click()
        page.wait_for_selector("#members")
        assert_in_shop(page, base)
        with page.expect_download() as download_info:
            page.click("text=/Download all .* members \\(CSV\\)/")
        rows = Path(download_info.value.path()).read_text(encoding="utf-8-sig").splitlines()
        assert len(rows) > 1 and rows[1].startswith("L")

        # Another file of the same layout: imported without a mapping step.
        page.goto(f"{shop}/customers/imports/new/")
        page.set_input_files(
            "#id_file", str(shop_file(tmp_path / "week2.csv", seed=12, prefix="M"))
        )
        page.click("text=Upload and import")
        page.wait_for_selector("text=Lines imported", timeout=90_000)
        assert page.get_by_text("Which column holds which field?").count() == 0
        assert "remembered layout" in page.locator("#layout-used").inner_text()
        layout = ImportLayout.unscoped.get()
        assert layout.mapping == first.mapping

        # The same layout, its date column now holding week numbers: stopped before writing.
        stored = TransactionLine.unscoped.count()
        weeks = shop_file(tmp_path / "weeks.csv", seed=13, prefix="W", week_numbers=True)
        page.goto(f"{shop}/customers/imports/new/")
        page.set_input_files("#id_file", str(weeks))
        page.click("text=Upload and import")
        page.wait_for_selector("text=Nothing was imported", timeout=90_000)
        assert "transaction_date" in page.locator("#import-progress .errorlist").inner_text()
        assert page.get_by_text("Which column holds which field?").count() == 0
        assert TransactionLine.unscoped.count() == stored
        assert ImportRecord.unscoped.order_by("-pk").first().status == "failed"
        assert_clean(page)
