"""Etsy's sold-order-items download and Square's item sales export, uploaded as they come:
recognised without a mapping step and read by their own conventions (Etsy's month-first
dates whatever the shop's setting, its currency on every row; Square's date and time in two
columns, its money after discounts, its refunds and its walk-in sales)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import Customer, ImportRecord, TransactionLine

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def upload(client, name: str) -> ImportRecord:
    data = (FIXTURES / name).read_bytes()
    file = SimpleUploadedFile(name, data, content_type="text/csv")
    response = client.post(reverse("customers:import-create"), {"file": file})
    assert response.status_code == 302
    return ImportRecord.unscoped.get()


def test_an_etsy_download_imports_with_month_first_dates_in_a_day_first_shop(
    client_for, shop, run_tasks_inline
):
    shop.currency, shop.date_order = "USD", "dayfirst"  # a British seller selling in dollars
    shop.save(update_fields=["currency", "date_order"])
    client = client_for("manager")
    record = upload(client, "etsy_sold_order_items.csv")
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert record.mapping["customer_id"] == "Buyer" and record.date_order == "monthfirst"
    # five items; the Canadian order is in CAD, not the shop's dollars
    assert (record.rows_read, record.rows_imported, record.rows_rejected) == (5, 4, 1)
    rejected = record.rejected_rows.get()
    assert (rejected.line_number, rejected.column, rejected.value) == (6, "Currency", "CAD")

    lines = TransactionLine.unscoped.filter(workspace=shop)
    mug = lines.get(customer__external_id="janedoe")
    local = mug.timestamp.astimezone(ZoneInfo(shop.time_zone))
    assert local.date().isoformat() == "2025-08-03"  # not 8 March
    fan = lines.filter(customer__external_id="coolbuyer42")
    assert sorted(set(fan.values_list("invoice", flat=True))) == ["3001", "3003"]
    card = fan.get(invoice="3001", product_code="9001")
    assert (card.quantity, card.amount) == (Decimal(2), Decimal("10.00"))
    assert card.description == "Sunset Fox | Greeting Card"
    assert Customer.unscoped.get(workspace=shop, external_id="coolbuyer42").name == "Jane Doe"

    page = client.get(record.get_absolute_url()).content.decode()
    assert "amount in another currency than the workspace" in page


def test_a_square_export_reads_its_times_net_sales_refunds_and_walk_ins(
    client_for, shop, run_tasks_inline
):
    shop.currency, shop.time_zone = "USD", "America/New_York"
    shop.save(update_fields=["currency", "time_zone"])
    client = client_for("manager")
    record = upload(client, "square_item_sales.csv")
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert (record.mapping["time"], record.mapping["line_type"]) == ("Time", "Event Type")
    # the espresso was sold to a walk-in customer: no one to segment
    assert (record.rows_read, record.rows_imported, record.rows_without_customer) == (5, 4, 1)

    ann = TransactionLine.unscoped.filter(customer__external_id="CUST-A1")
    latte = ann.get(product_code="LAT-L")
    # what she paid after the discount, at 09:15:30 in New York
    assert (latte.quantity, latte.amount) == (Decimal(2), Decimal("8.00"))
    assert latte.timestamp.isoformat() == "2024-03-05T14:15:30+00:00"
    refund = ann.get(invoice="T102")
    assert (refund.quantity, refund.amount, refund.is_return) == (
        Decimal(-1),
        Decimal("-3.50"),
        True,
    )
    assert Customer.unscoped.get(workspace=shop, external_id="CUST-B2").name == "Bo Kim"

    # the page says how the file was read: which export, which column gave each field
    page = client.get(record.get_absolute_url()).content.decode()
    assert record.warnings == [
        "1 of 5 rows were skipped: they have no customer id (in a Square item sales export, "
        "walk-in sales, with no customer attached at the till)."
    ]
    assert "Recognised as Square item sales export" in page
    read = re.findall(
        r'<th scope="row">([^<]+)</th><td class="mono" data-role="column">([^<]+)<', page
    )
    assert ("Line amount", "Net Sales") in read and ("Time of day", "Time") in read
    assert ("Line type (sale or refund)", "Event Type") in read


def test_a_square_export_with_a_bad_time_names_both_columns(client_for, shop, run_tasks_inline):
    shop.currency = "USD"
    shop.save(update_fields=["currency"])
    text = (FIXTURES / "square_item_sales.csv").read_text().replace("08:30:00", "8.30")
    file = SimpleUploadedFile("items.csv", text.encode(), content_type="text/csv")
    client_for("manager").post(reverse("customers:import-create"), {"file": file})
    record = ImportRecord.unscoped.get()
    rejected = record.rejected_rows.get()
    assert (rejected.line_number, rejected.column) == (6, "Date + Time")
    assert rejected.value == "2024-03-12 8.30"
    assert record.rows_imported == 3  # the other lines are kept


def test_the_api_says_which_export_an_import_was_known_as(client_for, shop, run_tasks_inline):
    shop.currency = "USD"
    shop.save(update_fields=["currency"])
    client = client_for("manager")
    for name, known in (
        ("etsy_sold_order_items.csv", "Etsy sold order items"),
        ("online_retail_sample.csv", None),
    ):
        data = (FIXTURES / name).read_bytes() if known else ONLINE_RETAIL_ROWS.encode()
        file = SimpleUploadedFile(name, data, content_type="text/csv")
        created = client.post(reverse("api-imports"), {"file": file})
        assert created.status_code == 202, created.content
        body = client.get(reverse("api-import-detail", args=[created.json()["id"]])).json()
        assert body["recognised_as"] == known


ONLINE_RETAIL_ROWS = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
)


def test_a_stripe_payments_export_reads_utc_times_and_skips_unpaid_and_guest_payments(
    client_for, shop, run_tasks_inline
):
    client = client_for("manager")
    record = upload(client, "stripe_payments.csv")
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert record.recognised_as == "Stripe payments export"
    assert record.mapping["customer_id"] == "Customer ID" and record.mapping["invoice"] == "id"
    # money as the shop was paid, in its own currency
    assert (record.mapping["amount"], record.mapping["currency"]) == (
        "Converted Amount",
        "Converted Currency",
    )
    # refunded and failed payments skipped; the guest's has no Stripe customer
    assert (record.rows_read, record.rows_imported, record.rows_without_customer) == (7, 4, 1)
    # Bob's euro payment counts at the pounds it settled as, not refused as euros
    euros = TransactionLine.unscoped.get(invoice="ch_3P1ggg")
    assert euros.amount == Decimal("43.10")
    ann = TransactionLine.unscoped.filter(customer__external_id="cus_Q1").order_by("timestamp")
    assert [(line.invoice, line.amount) for line in ann] == [
        ("ch_3P1aaa", Decimal("45.00")),
        ("ch_3P1fff", Decimal("45.00")),  # 60.00 paid, 15.00 refunded since
    ]
    # 23:30 UTC, as the header says: 00:30 on 2 July in London
    assert ann[0].timestamp.isoformat() == "2024-07-01T23:30:00+00:00"
    local = ann[0].timestamp.astimezone(ZoneInfo(shop.time_zone))
    assert local.isoformat() == "2024-07-02T00:30:00+01:00"
    page = client.get(record.get_absolute_url()).content.decode()
    assert "guest checkouts" in page and "Recognised as Stripe payments export" in page
