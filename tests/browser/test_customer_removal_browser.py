"""A manager finds a placeholder id stored before imports skipped such ids, in a real
browser: its lines page says what it is, and the customer is removed with all its lines
after a confirmation; the other customers' lines stay. A real customer removed is kept out
of imports (the box is ticked by default) and let back in from the list of those; ids not
stored yet are listed there ahead."""

from __future__ import annotations

import pytest

from tests import shops
from tests.browser.test_journey import (  # noqa: F401 (browser_page is a fixture)
    assert_clean,
    browser_page,
    in_shop,
    sign_in,
)
from tests.customers.conftest import import_path

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LINES = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "101,P1,MUG,2,2024-01-05 10:00:00,3.00,GUEST,France\n"
    "102,P2,CUP,1,2024-01-06 10:00:00,5.00,GUEST,France\n"
    "103,P1,MUG,1,2024-02-10 10:00:00,3.00,7,Spain\n"
)


def test_a_stored_placeholder_is_pointed_out_and_removed(
    browser_page,  # noqa: F811
    live_server,
    make_user,
    tmp_path,
):
    from customers.models import Customer, ImportRecord, KeptOutCustomer, TransactionLine

    shop = shops.test_shop()
    shop.customer_ids_kept = "GUEST"  # as the lines were stored before the rule
    shop.save(update_fields=["customer_ids_kept"])
    path = tmp_path / "till.csv"
    path.write_text(LINES)
    assert import_path(path).status == ImportRecord.Status.SUCCEEDED
    shop.customer_ids_kept = ""
    shop.save(update_fields=["customer_ids_kept"])
    guest = Customer.unscoped.get(external_id="GUEST")
    page, base = browser_page, live_server.url
    make_user("manager", username="removal-manager")

    sign_in(page, base, "removal-manager")
    page.goto(f"{in_shop(base)}/customers/{guest.pk}/lines/")
    assert "looks like a placeholder" in page.locator("[data-role=placeholder]").inner_text()
    page.click("text=Remove customer GUEST…")
    page.wait_for_selector("h1:has-text('Remove customer GUEST and all their lines?')")
    assert "2 transaction lines, stored by 1 import" in page.locator("main").inner_text()
    page.click("button:has-text('Remove customer GUEST')")
    page.wait_for_selector("text=Customer GUEST removed with 2 lines.")
    assert page.url.startswith(f"{in_shop(base)}/customers/lookup/")

    assert not Customer.unscoped.filter(external_id="GUEST").exists()
    assert list(TransactionLine.unscoped.values_list("invoice", flat=True)) == ["103"]

    seven = Customer.unscoped.get(external_id="7")
    page.goto(f"{in_shop(base)}/customers/{seven.pk}/remove/")
    assert page.is_checked("input[name=keep_out]")
    page.click("button:has-text('Remove customer 7')")
    page.wait_for_selector("text=Later imports leave the id out.")
    assert list(KeptOutCustomer.unscoped.values_list("external_id", flat=True)) == ["7"]
    page.goto(f"{in_shop(base)}/customers/imports/")
    page.click("text=Customers kept out")
    page.click("button:has-text('Let back in')")  # the page's script asks; the test agrees
    page.wait_for_selector("text=Customer 7 let back in")
    assert not KeptOutCustomer.unscoped.exists()
    assert_clean(page)


def test_ids_not_stored_yet_are_kept_out_from_the_list_page(
    browser_page,  # noqa: F811
    live_server,
    make_user,
    tmp_path,
):
    from customers.models import Customer, ImportRecord, KeptOutCustomer

    path = tmp_path / "till.csv"
    path.write_text(LINES)
    assert import_path(path).status == ImportRecord.Status.SUCCEEDED
    page, base = browser_page, live_server.url
    make_user("manager", username="listing-manager")

    sign_in(page, base, "listing-manager")
    page.goto(f"{in_shop(base)}/customers/kept-out/")
    page.fill("textarea[name=customer_ids]", "TEST-1\n7")
    page.click("button:has-text('Keep them out')")
    page.wait_for_selector("text=Customer 7 is stored, with 1 line")
    assert page.input_value("textarea[name=customer_ids]") == "TEST-1\n7"
    assert not KeptOutCustomer.unscoped.exists()
    page.fill("textarea[name=customer_ids]", "TEST-1, TEST-2")
    page.click("button:has-text('Keep them out')")
    page.wait_for_selector("text=2 customer ids kept out of later imports.")
    rows = page.locator("tbody tr")
    assert rows.count() == 2
    assert "Listed before any line of theirs was stored" in rows.first.inner_text()
    assert set(KeptOutCustomer.unscoped.values_list("external_id", flat=True)) == {
        "TEST-1",
        "TEST-2",
    }
    assert Customer.unscoped.filter(external_id="7").exists()
    assert_clean(page)
