"""Customer ids that stand for no customer ("Guest", "Walk-in", "Consumidor final", "0",
"-") are skipped like an empty id, counted by id, and said on the import's page, its API
answer and the command: kept, each would be one customer holding every anonymous sale."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest
from django.db.models import Sum
from django.urls import reverse

from customers.models import Customer, ImportRecord, TransactionLine
from transaction_files.placeholders import id_list, is_placeholder, placeholder_mask

from .conftest import import_or_error, import_path

MAPPING = {
    "customer_id": "Customer",
    "timestamp": "Date",
    "invoice": "Order #",
    "amount": "Net Sales",
    "status": "Status",
}
HEADER = "Date,Order #,Status,Customer,Net Sales\n"


@pytest.mark.parametrize(
    "value",
    ["Guest", " guest ", "GUEST CUSTOMER", "Walk-in", "walk in customer", "Cash Customer",
     "Anonymous", "Unknown", "N/A", "#N/A", "null", "-", "--", "?", "0", "000", "0.0", "-1",
     "Consumidor Final", "Público en General", "Cliente de paso", "Gastkunde", "Laufkunde",
     "Client invité", "Client de passage", "Ospite", "Gość", "Gäst", "Vendég",
     "Käteisasiakas", "Kontantkunde", "CPD-Kunde", "Diverse Kunden", "Clientes varios",
     "Clients divers"],
)  # fmt: skip
def test_these_ids_stand_for_no_customer(value):
    assert is_placeholder(value)


@pytest.mark.parametrize(
    "value",
    ["17850", "1", "0001", "10", "-2", "C-0001", "Jane Smith", "Guest House Ltd", "Cashman",
     "guest42", "e-4f9c2a7d1b3e8f60", "Anna", "NA-1042", "x"],
)  # fmt: skip
def test_real_ids_are_kept(value):
    assert not is_placeholder(value)


def _file(tmp_path, rows: list[str]):
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


ROWS = [
    "2024-03-05 14:22:10,1045,Completed,C1,42.50",
    "2024-03-05 10:01:44,1044,Processing,C2,12.00",
    "2024-03-04 18:30:00,1043,Completed,Guest,35.00",
    "2024-03-03 09:12:05,1042,Completed,C1,18.00",
    "2024-03-02 16:45:51,1041,Completed,guest,47.00",
    "2024-03-02 12:00:00,1040,Completed,0,9.00",
    "2024-03-01 11:00:00,1039,Cancelled,Guest,20.00",
    "2024-03-01 10:00:00,1038,Completed,,5.00",
]


@pytest.mark.django_db
def test_an_import_skips_them_and_says_which_and_how_many(tmp_path, shop, client_for):
    record = import_path(_file(tmp_path, ROWS), mapping=MAPPING)
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error

    # Only the real customers' sales are stored; the guests' and the till's "0" are not.
    assert set(Customer.objects.in_workspace(shop).values_list("external_id", flat=True)) == {
        "C1",
        "C2",
    }
    lines = TransactionLine.objects.in_workspace(shop)
    assert lines.aggregate(total=Sum("amount"))["total"] == Decimal("72.50")
    assert (record.rows_read, record.rows_imported, record.rows_skipped) == (8, 3, 5)
    # Four placeholder rows (the cancelled guest order among them), one with no id at all.
    assert (record.rows_with_placeholder_id, record.rows_without_customer) == (4, 1)
    assert record.orders_not_sales == 0
    assert record.counts_by_reason["skipped_placeholder_customer_id"] == 4
    assert record.summary["placeholder_ids"] == [
        {"id": "Guest", "rows": 2},
        {"id": "guest", "rows": 1},
        {"id": "0", "rows": 1},
    ]
    assert record.warnings[1] == (
        "4 of 8 rows were skipped: their customer id stands for no customer: “Guest” (2 rows), "
        "“guest” (1 row), “0” (1 row). Kept, it would be one customer holding every guest "
        "or walk-in sale. If one is a real customer of this shop, list it under “Customer ids "
        "to keep” in the shop's settings and import the file again."
    )
    assert record.status_label == "Succeeded with warnings"

    # The import's page and its API answer say the same.
    client = client_for("manager")
    page = " ".join(client.get(record.get_absolute_url()).content.decode().split())
    assert "4 rows skipped: the customer id stands for no customer" in page
    assert '<span class="mono">Guest</span>: 2 rows; <span class="mono">guest</span>: 1 row' in page
    assert "Skipped: customer id that stands for no customer" in page
    answer = client.get(f"/api/v1/imports/{record.pk}/").json()
    assert answer["counts_by_reason"]["skipped_placeholder_customer_id"] == 4
    assert answer["summary"]["placeholder_ids"][0] == {"id": "Guest", "rows": 2}
    assert record.warnings[1] in answer["warnings"]


@pytest.mark.django_db
def test_a_file_of_guests_only_stores_nothing_and_says_why(tmp_path, shop):
    rows = [
        "2024-03-04 18:30:00,1043,Completed,Guest,35.00",
        "2024-03-02 16:45:51,1041,Completed,Walk-in,47.00",
    ]
    record, message = import_or_error(_file(tmp_path, rows), mapping=MAPPING)
    assert record is not None and record.status == ImportRecord.Status.FAILED
    assert "2 had a customer id that stands for no customer (“Guest”, “Walk-in”)" in message
    assert "list them under “Customer ids to keep” in the shop's settings." in message
    assert not TransactionLine.objects.in_workspace(shop).exists()
    assert not Customer.objects.in_workspace(shop).exists()
    record.refresh_from_db()
    assert record.counts_by_reason == {"skipped_placeholder_customer_id": 2}


def _marketplace_file(tmp_path, *, customers: int, marketplace_rows: int):
    rows = [
        f"2024-03-{1 + i % 28:02d} 10:00:00,{2000 + i},Completed,C{i:03d},{10 + i % 7}.00"
        for i in range(customers)
    ]
    rows += [
        f"2024-03-{1 + i % 28:02d} 12:00:00,{5000 + i},Completed,Amazon Marketplace,20.00"
        for i in range(marketplace_rows)
    ]
    return _file(tmp_path, rows)


@pytest.mark.django_db
def test_a_customer_holding_a_fifth_of_the_rows_is_warned_of(tmp_path, shop, client_for):
    # 40 customers with a row each and a marketplace's account with 12: 12 of 52 rows (23%).
    record = import_path(
        _marketplace_file(tmp_path, customers=40, marketplace_rows=12), mapping=MAPPING
    )
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert record.summary["largest_customer"] == {
        "id": "Amazon Marketplace",
        "rows": 12,
        "of_rows": 52,
    }
    warning = (
        "Customer “Amazon Marketplace” has 12 of the 52 rows (23%): if that id stands for many "
        "buyers (a marketplace, a till's default customer), their sales were stored as one "
        "customer's. Remove that customer with all their lines, kept out of later imports; "
        "or undo this import and map another column as the customer id."
    )
    assert record.warnings == [warning]
    page = client_for("manager").get(record.get_absolute_url()).content.decode()
    assert warning.replace("'", "&#x27;") in page
    # the way out is one click away: the removal's confirmation, its box ticked
    marketplace = Customer.unscoped.get(external_id="Amazon Marketplace")
    removal = reverse("customers:customer-remove", args=[marketplace.pk])
    assert f'{removal}">Remove customer Amazon Marketplace with all their lines…' in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("customers", "marketplace_rows"),
    [(40, 9), (15, 12)],  # 9 of 49 rows (18%); 12 of 27 rows but only 16 customers
)
def test_a_large_customer_below_a_fifth_or_in_a_small_file_is_not(
    tmp_path, shop, customers, marketplace_rows
):
    path = _marketplace_file(tmp_path, customers=customers, marketplace_rows=marketplace_rows)
    record = import_path(path, mapping=MAPPING)
    assert record.summary["largest_customer"]["id"] == "Amazon Marketplace"
    assert record.largest_customer_share is None and record.warnings == []


@pytest.mark.django_db
def test_a_file_of_unfinished_checkouts_stores_nothing_and_says_why(tmp_path, shop):
    rows = [
        "2024-03-04 18:30:00,1043,Pending payment,C1,35.00",
        "2024-03-02 16:45:51,1041,checkout-draft,C2,47.00",
    ]
    record, message = import_or_error(_file(tmp_path, rows), mapping=MAPPING)
    assert record is not None and record.status == ImportRecord.Status.FAILED
    assert "2 belonged to orders cancelled, refunded or voided, or to checkouts never" in message
    assert not TransactionLine.objects.in_workspace(shop).exists()


def test_ids_a_shop_keeps_are_not_placeholders_any_more():
    ids = pa.array(["0", "Guest", " guest ", "Walk-in", None])
    assert placeholder_mask(ids).to_pylist() == [True, True, True, True, False]
    kept = id_list("guest,\n 0 , Guest")
    assert kept == ["guest", "0", "Guest"]
    assert placeholder_mask(ids, kept=kept).to_pylist() == [False, False, False, True, False]


@pytest.mark.django_db
def test_a_shop_keeps_only_ids_an_import_would_skip(shop, client_for):
    admin = client_for("admin")
    page = admin.post(
        "/settings/",
        {**_settings(shop), "customer_ids_kept": "0, 17850, C-1"},
    )
    assert page.status_code == 400
    assert "“17850”, “C-1” are imported anyway" in page.content.decode()
    answer = admin.patch(
        "/api/v1/settings/", {"customer_ids_kept": "Guest, 42"}, content_type="application/json"
    )
    assert answer.status_code == 400
    assert "“42” is imported anyway" in " ".join(answer.json()["fields"]["customer_ids_kept"])
    shop.refresh_from_db()
    assert shop.customer_ids_kept == ""


def _settings(workspace) -> dict:
    return {
        name: getattr(workspace, name)
        for name in ("name", "currency", "time_zone", "date_order", "code_page")
    }


@pytest.mark.django_db
def test_a_kept_id_is_imported_when_the_file_is_imported_again(tmp_path, shop, client_for):
    path = _file(tmp_path, ROWS)
    first = import_path(path, mapping=MAPPING)
    assert first.rows_with_placeholder_id == 4 and first.rows_imported == 3

    # The shop's till really is customer 0 (a shop's own numbering), and says so.
    admin = client_for("admin")
    answer = admin.patch(
        "/api/v1/settings/", {"customer_ids_kept": "0"}, content_type="application/json"
    )
    assert answer.status_code == 200 and answer.json()["customer_ids_kept"] == "0"
    shop.refresh_from_db()

    # The same bytes again: read again (not "already imported"), and customer 0's line kept.
    again = import_path(path, mapping=MAPPING)
    assert again.status == ImportRecord.Status.SUCCEEDED, again.error
    assert again.counts_by_reason["already_imported"] == 3
    assert (again.rows_imported, again.rows_with_placeholder_id) == (1, 3)
    assert again.summary["placeholder_ids"] == [
        {"id": "Guest", "rows": 2},
        {"id": "guest", "rows": 1},
    ]
    customers = Customer.objects.in_workspace(shop)
    assert set(customers.values_list("external_id", flat=True)) == {"C1", "C2", "0"}
    zero = TransactionLine.objects.in_workspace(shop).filter(customer__external_id="0")
    assert list(zero.values_list("amount", flat=True)) == [Decimal("9.00")]
    assert "list it under “Customer ids to keep” in the shop's settings" in again.warnings[1]
    assert f"already imported (import #{first.pk}); 1 new line was added." in again.notices[-1]
