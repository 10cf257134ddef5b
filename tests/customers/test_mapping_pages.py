"""The guided mapping step (pre-selected guesses, explanations, preview, columns left out),
remembered layouts (used without asking, edited, forgotten), the same file again, by role."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import ImportLayout, ImportRecord, TransactionLine

pytestmark = pytest.mark.django_db

HEADER = (
    "household_id,basket_id,product_id,quantity,sales_value,transaction_timestamp,"
    "week_no,store_id,retail_disc"
)


def grocery(rows: int = 8, *, first_customer: int = 2000, week_as_date: bool = False) -> bytes:
    lines = [HEADER]
    for i in range(rows):
        when = str(1 + i % 50) if week_as_date else f"2023-06-{1 + i % 28:02d} 1{i % 10}:15:00"
        lines.append(
            f"{first_customer + i % 3},{70000 + i // 2},{81000 + i},{1 + i % 2},"
            f"{1.25 + i:.2f},{when},{1 + i % 50},{300 + i % 2},-0.{i % 10}0"
        )
    return ("\n".join(lines) + "\n").encode()


def upload(client, data: bytes, name: str = "grocery.csv"):
    return client.post(
        reverse("customers:import-create"),
        {"file": SimpleUploadedFile(name, data, content_type="text/csv")},
    )


def selected(page: str, field: str) -> str | None:
    """The option pre-selected in a field's drop-down."""
    select = re.search(rf'<select name="map_{field}".*?</select>', page, re.S)
    assert select, field
    chosen = re.search(r'<option value="([^"]*)" selected>', select.group(0))
    return (chosen.group(1) or None) if chosen else None


def preview_table(page: str) -> str:
    match = re.search(r'<table id="mapping-preview">.*?</table>', page, re.S)
    assert match
    return match.group(0)


def test_mapping_page_preselects_explains_and_previews(client_for, shop):
    shop.time_zone = "America/New_York"  # file times are the shop's, shown as the shop's
    shop.save()
    client = client_for("manager")
    upload(client, grocery())
    record = ImportRecord.unscoped.get()
    assert record.status == ImportRecord.Status.NEEDS_MAPPING
    assert record.mapping["customer_id"] == "household_id"
    page = client.get(record.get_absolute_url()).content.decode()
    assert selected(page, "customer_id") == "household_id"
    assert selected(page, "timestamp") == "transaction_timestamp"
    assert selected(page, "invoice") == "basket_id"
    assert selected(page, "amount") == "sales_value"
    assert selected(page, "unit_price") is None  # nothing named or valued like one
    assert "high confidence" in page and "a usual name for the customer id" in page
    # Each field explained: invoice vs basket, unit price vs line amount.
    assert "the invoice, order, basket or receipt" in page
    assert "Give this or the line amount" in page
    # Extra columns are listed as ignored.
    ignored = re.search(r'<p id="ignored-columns">(.*?)</p>', page, re.S).group(1)
    assert "“week_no”, “store_id”, “retail_disc”" in ignored and "Discounts" in ignored
    # The first rows as read and as stored: customer, date in the shop's order, pounds.
    table = preview_table(page)
    assert "2023-06-01 10:15:00" in table  # as read
    assert 'data-role="customer">2000<' in table
    assert 'data-role="amount">£1.25<' in table
    assert re.search(r'data-role="date">2023-06-01 10:15<', table)


def test_preview_follows_the_changed_mapping_and_imports_nothing(client_for):
    client = client_for("manager")
    upload(client, grocery())
    record = ImportRecord.unscoped.get()
    response = client.post(
        record.get_absolute_url(),
        {
            "action": "preview",
            "map_customer_id": "household_id",
            "map_timestamp": "week_no",
            "map_amount": "sales_value",
            "date_order": "dayfirst",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert selected(page, "timestamp") == "week_no"
    assert "Not a date this import can read: it reads ISO, YYYYMMDD and day-first" in (
        preview_table(page)
    )
    assert "“transaction_timestamp”" in page  # now left out, and listed so
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.NEEDS_MAPPING
    assert TransactionLine.unscoped.count() == 0


def test_day_first_dates_are_shown_in_the_day_first_order(client_for, shop):
    shop.date_order = "dayfirst"
    shop.save()
    client = client_for("manager")
    upload(client, b"member,bought_on,total\nm1,31/01/2024 09:30,5.00\nm2,02/01/2024,6.00\n")
    record = ImportRecord.unscoped.get()
    page = client.get(record.get_absolute_url()).content.decode()
    # The workspace's order stands as such, not as a choice made for this file.
    order = re.search(r'<select name="date_order".*?</select>', page, re.S).group(0)
    assert re.search(r'<option value="" selected>This workspace.*?s: Day first', order)
    # Dates found by their values only: suggested, not chosen.
    assert selected(page, "timestamp") is None
    assert "Suggested: “bought_on”" in page and "medium confidence" in page
    assert "Choose the column of date / time, then preview again." in page
    chosen = {"map_customer_id": "member", "map_timestamp": "bought_on", "map_amount": "total"}
    page = client.post(record.get_absolute_url(), {"action": "preview", **chosen})
    table = preview_table(page.content.decode())
    assert 'data-role="date">02/01/2024 00:00<' in table  # 2 January, written day first
    assert 'data-role="date">31/01/2024 09:30<' in table


def test_a_file_contradicting_the_workspaces_order_says_so_before_it_is_imported(
    client_for, shop, run_tasks_inline
):
    """A day-first shop given a month-first file: the preview says so, quoting the file's
    date, rather than showing its rows rejected one by one; importing without choosing an
    order is refused there; choosing month-first previews and imports every row."""
    shop.date_order = "dayfirst"
    shop.save()
    client = client_for("manager")
    upload(
        client,
        b"member,bought_on,total\nm1,11/08/2016,5.00\nm2,11/22/2016,6.00\nm3,12/01/2016,7.00\n",
    )
    record = ImportRecord.unscoped.get()
    chosen = {"map_customer_id": "member", "map_timestamp": "bought_on", "map_amount": "total"}
    page = client.post(record.get_absolute_url(), {"action": "preview", **chosen}).content
    page = page.decode()
    assert "Dates such as “11/22/2016” are month-first" in page
    assert "this workspace&#x27;s setting" in page
    assert "Rejected" not in preview_table(page)

    refused = client.post(record.get_absolute_url(), {"action": "import", **chosen})
    assert refused.status_code == 200
    assert "Dates such as “11/22/2016” are month-first" in refused.content.decode()
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.NEEDS_MAPPING

    month_first = {**chosen, "date_order": "monthfirst"}
    page = client.post(record.get_absolute_url(), {"action": "preview", **month_first})
    table = preview_table(page.content.decode())
    assert "Dates such as" not in page.content.decode()
    assert 'data-role="date">11/22/2016 00:00<' in table and "Rejected" not in table
    imported = client.post(record.get_absolute_url(), {"action": "import", **month_first})
    assert imported.status_code == 302
    record.refresh_from_db()
    assert record.date_order == "monthfirst" and record.date_order_chosen
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert TransactionLine.unscoped.count() == 3


def test_a_column_chosen_twice_is_refused(client_for):
    client = client_for("manager")
    upload(client, grocery())
    record = ImportRecord.unscoped.get()
    response = client.post(
        record.get_absolute_url(),
        {
            "action": "import",
            "map_customer_id": "household_id",
            "map_timestamp": "transaction_timestamp",
            "map_quantity": "sales_value",
            "map_amount": "sales_value",
        },
    )
    assert "The column “sales_value” is chosen for Quantity and Line amount" in (
        response.content.decode()
    )
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.NEEDS_MAPPING


def test_an_e_mail_column_may_also_be_the_customer_id(client_for, shop, run_tasks_inline):
    """A shop naming customers only by e-mail: the e-mail is suggested as the customer, may
    be chosen for both fields, and is stored as a pseudonym beside the e-mail kept."""
    from customers.models import Customer
    from transaction_files.pseudonyms import pseudonym

    client = client_for("manager")
    upload(
        client,
        b"buyer_mail,bought,total\nann@example.com,2024-01-05,5.00\n"
        b"bob@example.org,2024-01-06,6.00\nANN@example.com,2024-02-01,7.00\n",
    )
    record = ImportRecord.unscoped.get()
    page = client.get(record.get_absolute_url()).content.decode()
    assert "Suggested: “buyer_mail”" in page and "pseudonym" in page
    chosen = {
        "map_customer_id": "buyer_mail",
        "map_email": "buyer_mail",
        "map_timestamp": "bought",
        "map_amount": "total",
    }
    assert client.post(record.get_absolute_url(), {"action": "import", **chosen}).status_code == 302
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    ann = Customer.unscoped.get(email__iexact="ann@example.com")  # the latest spelling
    assert ann.external_id == pseudonym("ann@example.com", shop.pseudonym_key)
    assert TransactionLine.unscoped.filter(customer=ann).count() == 2
    # any other field still holds one column only
    twice = {**chosen, "map_invoice": "buyer_mail"}
    other = ImportRecord.unscoped.create(
        workspace=shop, file_name="again.csv", columns=record.columns, sample=record.sample,
        status=ImportRecord.Status.NEEDS_MAPPING, mapping_step=True,
    )  # fmt: skip
    refused = client.post(other.get_absolute_url(), {"action": "import", **twice})
    assert "a column can hold one field only" in refused.content.decode()


def _accept_guesses(client, record):
    page = client.get(record.get_absolute_url()).content.decode()
    data = {"action": "import"}
    for field in ("customer_id", "timestamp", "invoice", "quantity", "amount", "product_code"):
        data[f"map_{field}"] = selected(page, field)
    return client.post(record.get_absolute_url(), data)


def test_layout_remembered_and_used_without_asking(client_for, run_tasks_inline):
    client = client_for("manager")
    upload(client, grocery())
    first = ImportRecord.unscoped.get()
    assert _accept_guesses(client, first).status_code == 302
    first.refresh_from_db()
    assert first.status == ImportRecord.Status.SUCCEEDED, first.error
    layout = ImportLayout.unscoped.get()
    assert layout.mapping == first.mapping and first.layout_id == layout.pk
    assert layout.created_by.username == "manager-user"

    # Another file, the same header written differently: no mapping asked.
    other = grocery(first_customer=5000).replace(b"household_id", b"Household ID", 1)
    response = upload(client, other, name="week2.csv")
    second = ImportRecord.unscoped.exclude(pk=first.pk).get()
    second.refresh_from_db()
    assert second.status == ImportRecord.Status.SUCCEEDED, second.error
    assert second.layout_id == layout.pk
    assert second.mapping["customer_id"] == "Household ID"
    page = client.get(response["Location"], follow=True).content.decode()
    assert "running with a remembered layout" in page
    assert f'href="{layout.get_absolute_url()}"' in page or layout.get_absolute_url() in page
    assert f"Edit or forget layout #{layout.pk}" in page


def test_same_file_again_says_already_imported_before_asking(client_for, run_tasks_inline):
    client = client_for("manager")
    data = grocery()
    upload(client, data)
    first = ImportRecord.unscoped.get()
    _accept_guesses(client, first)
    ImportLayout.unscoped.all().delete()  # even with its layout forgotten
    upload(client, data, name="again.csv")
    again = ImportRecord.unscoped.exclude(pk=first.pk).get()
    assert again.status == ImportRecord.Status.SUCCEEDED
    assert again.rows_imported == 0
    assert any("already imported" in n for n in again.notices)


def test_remembered_layout_whose_date_now_holds_week_numbers_stops_before_writing(
    client_for, run_tasks_inline
):
    client = client_for("manager")
    upload(client, grocery())
    _accept_guesses(client, ImportRecord.unscoped.get())
    stored = TransactionLine.unscoped.count()
    upload(client, grocery(first_customer=7000, week_as_date=True), name="weeks.csv")
    bad = ImportRecord.unscoped.order_by("-pk").first()
    assert bad.layout_id is not None
    assert bad.status == ImportRecord.Status.FAILED
    assert "Nothing was imported" in bad.error and "transaction_timestamp" in bad.error
    assert TransactionLine.unscoped.count() == stored


def test_a_wrong_mapping_is_not_remembered(client_for, run_tasks_inline):
    client = client_for("manager")
    upload(client, grocery())
    record = ImportRecord.unscoped.get()
    client.post(
        record.get_absolute_url(),
        {
            "map_customer_id": "household_id",
            "map_timestamp": "week_no",
            "map_amount": "sales_value",
        },
    )
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.FAILED
    assert not ImportLayout.unscoped.exists()


@pytest.mark.parametrize(("role", "status"), [("marketing", 403), ("manager", 200), ("admin", 200)])
def test_layout_pages_by_role(client_for, shop, role, status):
    layout = ImportLayout.objects.create(
        workspace=shop,
        signature="x" * 64,
        columns=["who", "when", "total"],
        mapping={"customer_id": "who", "timestamp": "when", "amount": "total"},
    )
    client = client_for(role)
    assert client.get(reverse("customers:layout-list")).status_code == status
    assert client.get(layout.get_absolute_url()).status_code == status
    forget = reverse("customers:layout-forget", args=[layout.pk])
    assert client.get(forget).status_code == status
    assert client.post(forget).status_code == (302 if status == 200 else 403)
    assert ImportLayout.unscoped.filter(pk=layout.pk).exists() == (status != 200)


def test_editing_a_layout(client_for, shop):
    layout = ImportLayout.objects.create(
        workspace=shop,
        signature="y" * 64,
        columns=["who", "when", "total", "net"],
        mapping={"customer_id": "who", "timestamp": "when", "amount": "total"},
    )
    client = client_for("manager")
    page = client.get(reverse("customers:layout-list")).content.decode()
    assert "who, when, total, net" in page and f"Edit layout #{layout.pk}" in page
    url = layout.get_absolute_url()
    refused = client.post(url, {"map_customer_id": "who", "map_amount": "net"})
    assert "Date / time" in refused.content.decode()  # the date is required
    layout.refresh_from_db()
    assert layout.mapping["amount"] == "total"
    response = client.post(
        url, {"map_customer_id": "who", "map_timestamp": "when", "map_amount": "net"}
    )
    assert response.status_code == 302
    layout.refresh_from_db()
    assert layout.mapping == {"customer_id": "who", "timestamp": "when", "amount": "net"}
    assert layout.updated_by.username == "manager-user"


def test_a_german_export_is_preselected_and_imports_with_its_guesses(
    client_for, shop, run_tasks_inline
):
    """An ERP's German export (semicolons, decimal commas, dotted dates, a trailing minus for
    a return): every field pre-selected from its German name, imported as read."""
    client = client_for("manager")
    upload(
        client,
        (
            "Kundennummer;Rechnungsnummer;Rechnungsdatum;Artikelnummer;Bezeichnung;Menge;Betrag\n"
            "K100;R1;05.11.2024;A-1;Kerze;2;1.230,50\n"
            "K101;R2;06.11.2024;A-2;Tasse;1;12,00\n"
            "K100;R3;07.11.2024;A-1;Kerze;1-;615,25-\n"
        ).encode("cp1252"),
        name="export.csv",
    )
    record = ImportRecord.unscoped.get()
    page = client.get(record.get_absolute_url()).content.decode()
    expected = {
        "customer_id": "Kundennummer",
        "invoice": "Rechnungsnummer",
        "timestamp": "Rechnungsdatum",
        "product_code": "Artikelnummer",
        "description": "Bezeichnung",
        "quantity": "Menge",
        "amount": "Betrag",
    }
    assert {field: selected(page, field) for field in expected} == expected
    data = {"action": "import", **{f"map_{f}": c for f, c in expected.items()}}
    assert client.post(record.get_absolute_url(), data).status_code == 302
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    lines = TransactionLine.unscoped.order_by("timestamp")
    assert [float(line.amount) for line in lines] == [1230.5, 12.0, -615.25]
    assert [line.timestamp.day for line in lines] == [5, 6, 7]  # day first: dotted dates
