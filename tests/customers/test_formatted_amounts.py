"""A file whose amounts carry the shop's currency, thousands separators, accounting
brackets or a trailing minus imports as numbers; an amount in another currency is rejected
with its row and column, and the rest of the file is stored."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import ImportRecord, ImportRejectedRow, TransactionLine

pytestmark = pytest.mark.django_db

FILE = (
    "CustomerID,InvoiceDate,InvoiceNo,Quantity,Amount\n"
    'c1,2024-01-05 10:00,1001,2,"£1,234.50"\n'
    "c1,2024-02-05 10:00,1002,1,£15.00\n"
    "c2,2024-01-06 11:00,1003,1,GBP 20\n"
    "c2,2024-01-07 11:00,1004,-1,(£20.00)\n"
    "c3,2024-01-08 12:00,1005,1,€30.00\n"
    "c3,2024-01-09 12:00,1006,1-,5.50-\n"
)


def test_amounts_written_as_money_are_read_and_foreign_ones_refused(
    client_for, shop, run_tasks_inline
):
    shop.currency = "GBP"
    shop.save()
    client = client_for("manager")
    upload = SimpleUploadedFile("money.csv", FILE.encode(), content_type="text/csv")
    assert client.post(reverse("customers:import-create"), {"file": upload}).status_code == 302
    record = ImportRecord.unscoped.get()
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    amounts = dict(TransactionLine.unscoped.values_list("invoice", "amount"))
    assert amounts == {
        "1001": Decimal("1234.50"),
        "1002": Decimal("15.00"),
        "1003": Decimal("20.00"),
        "1004": Decimal("-20.00"),  # a return, by its sign
        "1006": Decimal("-5.50"),  # a return, by its trailing minus (an ERP's export)
    }
    (rejected,) = ImportRejectedRow.unscoped.all()
    assert (rejected.line_number, rejected.column, rejected.value) == (6, "Amount", "€30.00")
    assert "Not in GBP, this workspace's currency" in rejected.message
    assert record.counts_by_reason["rejected_other_currency"] == 1
    page = client.get(record.get_absolute_url()).content.decode()
    assert "amount in another currency than the workspace" in page
