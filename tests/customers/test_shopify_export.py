"""A Shopify orders export uploaded as it comes: recognised without a mapping step, its
times read at their offsets, its orders from "Name", its line amounts from quantity and
price, its refunded and voided orders left out, and its customers, named only by e-mail,
stored under pseudonyms with their e-mail and name kept as contact details."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import Customer, ImportRecord, TransactionLine
from transaction_files.pseudonyms import PREFIX, pseudonym

pytestmark = pytest.mark.django_db
EXPORT = Path(__file__).resolve().parents[1] / "fixtures" / "shopify_orders_export.csv"


def test_a_shopify_export_imports_as_it_comes(client_for, shop, run_tasks_inline):
    shop.currency = "USD"  # the export's
    shop.save(update_fields=["currency"])
    client = client_for("manager")
    upload = SimpleUploadedFile(EXPORT.name, EXPORT.read_bytes(), content_type="text/csv")
    response = client.post(reverse("customers:import-create"), {"file": upload})
    assert response.status_code == 302
    record = ImportRecord.unscoped.get()
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    # recognised: never waited for a mapping
    assert record.mapping["invoice"] == "Name" and "amount" not in record.mapping
    # 15 line items: the guest's order (no e-mail) cannot be segmented; #1009 (refunded,
    # two lines, its status on the first only) and #1010 (voided) were no sales
    assert (record.rows_read, record.rows_skipped, record.rows_imported) == (15, 4, 11)
    assert (record.rows_without_customer, record.orders_not_sales) == (1, 3)
    assert not TransactionLine.unscoped.filter(invoice__in=["#1009", "#1010"]).exists()

    customers = {c.email: c for c in Customer.unscoped.filter(workspace=shop)}
    assert set(customers) == {
        "ann@example.com", "bob@example.org", "cy@example.net", "dee@example.com",
    }  # fmt: skip
    ann = customers["ann@example.com"]
    assert ann.external_id == pseudonym("ann@example.com", shop.pseudonym_key)
    assert ann.external_id.startswith(PREFIX) and "ann" not in ann.external_id
    assert ann.name == "Ann Lee"
    # "Ann@Example.com" on #1004 is the same customer: three orders
    lines = TransactionLine.unscoped.filter(customer=ann)
    assert sorted(set(lines.values_list("invoice", flat=True))) == ["#1001", "#1004", "#1008"]
    # a line's amount is its quantity times its price, not the order's total
    mug = lines.get(invoice="#1001", product_code="MUG-BL")
    assert (mug.quantity, mug.amount) == (Decimal(2), Decimal("30.00"))
    assert mug.description == "Blue Mug"
    # a line's discount (the whole line's) comes off it: two candles at 20 less 4
    candles = TransactionLine.unscoped.get(invoice="#1007", product_code="CN-1")
    assert (candles.quantity, candles.unit_price, candles.amount) == (2, 20, Decimal("36.00"))
    # 10:15 at UTC-5 is 15:15 UTC, whatever the shop's own zone
    assert mug.timestamp.isoformat() == "2024-01-05T15:15:00+00:00"

    page = client.get(record.get_absolute_url()).content.decode()
    assert "stored as pseudonyms" in page
    assert "customer id an e-mail address, stored as its pseudonym" in page
    assert "3 rows skipped: their order's status says it was cancelled, refunded" in page
    assert "1 row skipped: no customer id" in page
    assert "(in a Shopify orders export, guest orders placed without an e-mail address)" in page
    assert all(c.external_id.startswith(PREFIX) for c in customers.values())


def test_a_shopify_export_in_another_currency_is_refused_order_by_order(
    client_for, shop, run_tasks_inline
):
    """Shopify writes an order's currency on its first row only: the order's other rows are
    in it too, so no order is half imported into a shop that keeps another currency."""
    assert shop.currency == "GBP"
    client = client_for("manager")
    upload = SimpleUploadedFile(EXPORT.name, EXPORT.read_bytes(), content_type="text/csv")
    client.post(reverse("customers:import-create"), {"file": upload})
    record = ImportRecord.unscoped.get()
    assert record.mapping["currency"] == "Currency"
    # every sale is in USD: the 11 rows of its orders, first rows and the others alike
    assert (record.rows_imported, record.rows_rejected) == (0, 11)
    assert record.counts_by_reason["rejected_other_currency"] == 11
    rejected = record.rejected_rows.order_by("line_number").first()
    assert (rejected.column, rejected.value) == ("Currency", "USD")
    assert "Not in GBP, this workspace's currency" in rejected.message
    assert not TransactionLine.unscoped.exists()
    assert record.status == ImportRecord.Status.FAILED
    assert "most for another currency than the workspace's in column 'Currency'" in record.error


CUSTOMERS_EXPORT = (
    "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Default Address City,"
    "Total Spent,Total Orders,Note,Tax Exempt,Tags\n"
    "7001,Ann,Lee,ann@example.com,yes,Portland,120.50,3,,no,\n"
)


def test_shopifys_customers_export_is_named_and_refused(client_for, shop):
    """Uploaded by mistake for the orders: it has totals, no purchases. The upload says what
    it is and what to export instead, and nothing is kept."""
    client = client_for("manager")
    upload = SimpleUploadedFile("customers_export.csv", CUSTOMERS_EXPORT.encode())
    response = client.post(reverse("customers:import-create"), {"file": upload})
    page = response.content.decode()
    assert response.status_code == 200
    assert "This file is Shopify&#x27;s customers export" in page
    assert "Export the orders instead" in page
    assert not ImportRecord.unscoped.exists() and not Customer.unscoped.exists()


def test_the_api_refuses_shopifys_products_export_saying_what_it_is(client_for, shop):
    products = (
        "Handle,Title,Body (HTML),Vendor,Variant SKU,Variant Price\n"
        "mug,Blue Mug,,Hearth,MUG-BL,15\n"
    )
    client = client_for("manager")
    upload = SimpleUploadedFile("products_export.csv", products.encode(), content_type="text/csv")
    response = client.post(reverse("api-imports"), {"file": upload})
    assert response.status_code == 400
    assert "Shopify's products export" in response.json()["detail"]
    assert not ImportRecord.unscoped.exists()
