"""Imports, customers and lines belong to one workspace: the same file imported into two
shops gives two independent sets (customer "1001" of one is not the other's), a user of one
shop gets 404 for the other's imports, customers and lines and never sees them in a list or
count, and each shop's date order and time zone apply to its own imports."""

from __future__ import annotations

import json
from datetime import date, datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from customers.line_removal import import_record_undo
from customers.models import Customer, ImportRecord, TransactionLine

from .conftest import CDNOW_SLICE, import_path

pytestmark = pytest.mark.django_db

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
SMALL = HEADER + (
    "101,P1,MUG,2,2024-01-05 10:00:00,3.00,1001,France\n"
    "102,P2,CUP,1,2024-03-01 10:00:00,5.00,1001,France\n"
    "103,P1,MUG,1,2024-02-10 10:00:00,3.00,1002,Spain\n"
    "104,P3,BOWL,x,2024-02-11 10:00:00,3.00,1003,Spain\n"  # rejected: a bad quantity
)


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def lines_of(workspace):
    return TransactionLine.objects.in_workspace(workspace)


def customers_of(workspace):
    return Customer.objects.in_workspace(workspace)


# ------------------------------------------------------------------ colliding customer ids
def test_the_same_file_in_two_workspaces_gives_two_independent_sets(shop, other_shop, make_user):
    first = import_path(CDNOW_SLICE, workspace=shop)
    second = import_path(CDNOW_SLICE, workspace=other_shop)

    for record in (first, second):
        assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    # The second is read and stored in full: the first workspace's lines are not its own.
    assert second.rows_imported == first.rows_imported > 0
    assert second.customers_created == first.customers_created == 400
    assert "already imported" not in " ".join(second.notices)
    assert customers_of(shop).count() == customers_of(other_shop).count() == 400
    assert lines_of(shop).count() == lines_of(other_shop).count() == first.rows_imported
    assert Customer.unscoped.count() == 800
    # Customer "00001" of each shop is a customer of its own, with its own lines.
    mine = customers_of(shop).get(external_id="00001")
    theirs = customers_of(other_shop).get(external_id="00001")
    assert mine.pk != theirs.pk
    assert set(lines_of(shop).values_list("customer_id", flat=True).distinct()) == set(
        customers_of(shop).values_list("pk", flat=True)
    )
    assert not lines_of(other_shop).filter(customer=mine).exists()

    # Undoing the import in one workspace leaves the other's intact.
    other_lines = sorted(lines_of(other_shop).values_list("line_hash", "amount", "customer_id"))
    removed = import_record_undo(
        workspace=shop, import_record_id=first.pk, user=make_user("manager")
    )
    assert removed.lines == first.rows_imported and removed.customers_deleted == 400
    assert not lines_of(shop).exists() and not customers_of(shop).exists()
    assert customers_of(other_shop).count() == 400
    assert (
        sorted(lines_of(other_shop).values_list("line_hash", "amount", "customer_id"))
        == other_lines
    )
    assert ImportRecord.objects.in_workspace(other_shop).get().status == "succeeded"


def test_importing_again_into_the_same_workspace_still_adds_nothing(shop, other_shop, tmp_path):
    path = write(tmp_path, "small.csv", SMALL)
    import_path(path, workspace=shop)
    in_other = import_path(path, workspace=other_shop)
    again = import_path(path, workspace=other_shop)

    assert in_other.rows_imported == 3 and in_other.customers_created == 2
    assert again.rows_imported == 0 and again.rows_duplicate == 3
    assert f"already imported (import #{in_other.pk})" in " ".join(again.notices)
    assert lines_of(other_shop).count() == lines_of(shop).count() == 3


def test_removing_a_line_removes_it_from_its_workspace_only(shop, other_shop, tmp_path):
    path = write(tmp_path, "small.csv", SMALL)
    import_path(path, workspace=shop)
    import_path(path, workspace=other_shop)
    line = lines_of(shop).get(invoice="103")
    # The same content, so the same id, in both workspaces.
    assert lines_of(other_shop).filter(line_hash=line.line_hash).exists()

    manager = Client()
    manager.force_login(_member(shop, "manager", "remover"))
    response = manager.delete(reverse("api-transaction-line", args=[line.line_hash]))

    assert response.status_code == 200
    assert response.json() == {"lines_removed": 1, "customers_updated": 0, "customers_deleted": 1}
    assert not lines_of(shop).filter(line_hash=line.line_hash).exists()
    assert lines_of(other_shop).filter(line_hash=line.line_hash).exists()
    assert customers_of(other_shop).filter(external_id="1002").exists()


# ------------------------------------------------------------------ another workspace: 404
def _member(workspace, role: str, username: str):
    from django.contrib.auth import get_user_model

    from tests.shops import join

    user = get_user_model().objects.create_user(username=username, password="pw-for-tests-1")
    return join(user, workspace, role)


@pytest.fixture
def theirs(other_shop, tmp_path):
    """An import, customers and lines of the other shop only."""
    path = write(tmp_path, "theirs.csv", SMALL.replace("MUG", "THEIR MUG"))
    record = import_path(path, workspace=other_shop)
    assert record.status == ImportRecord.Status.SUCCEEDED and record.rows_rejected == 1
    return record


def test_a_user_of_one_shop_gets_404_for_the_others_imports_and_lines(shop, theirs, client_for):
    manager = client_for("manager")
    customer = customers_of(theirs.workspace).get(external_id="1001")
    line = lines_of(theirs.workspace).filter(customer=customer).first()
    lines_before = TransactionLine.unscoped.count()
    pages = [
        reverse("customers:import-detail", args=[theirs.pk]),
        reverse("customers:import-status", args=[theirs.pk]),
        reverse("customers:import-rejected-csv", args=[theirs.pk]),
        reverse("customers:import-undo", args=[theirs.pk]),
        reverse("customers:customer-lines", args=[customer.pk]),
        reverse("customers:line-remove", args=[line.line_hash]),
        reverse("api-import-detail", args=[theirs.pk]),
        reverse("api-import-rejected-rows", args=[theirs.pk]),
    ]
    for path in pages:
        assert manager.get(path).status_code == 404, path
        # Under the other shop's own prefix too: its pages are not this user's.
        assert manager.get(f"/w/{theirs.workspace.slug}{path}").status_code == 404, path
    assert manager.post(reverse("customers:import-undo", args=[theirs.pk])).status_code == 404
    assert manager.post(reverse("customers:line-remove", args=[line.line_hash])).status_code == 404
    assert manager.post(reverse("api-import-undo", args=[theirs.pk])).status_code == 404
    removed = manager.delete(reverse("api-transaction-line", args=[line.line_hash]))
    assert removed.status_code == 404

    assert TransactionLine.unscoped.count() == lines_before
    theirs.refresh_from_db()
    assert theirs.status == ImportRecord.Status.SUCCEEDED


def test_lists_and_counts_show_only_the_workspaces_rows(shop, theirs, client_for, tmp_path):
    mine = import_path(write(tmp_path, "mine.csv", HEADER + "9,P,OURS,1,2024-01-01,2,77,UK\n"))
    manager = client_for("manager")

    page = manager.get(reverse("customers:import-list")).content.decode()
    assert "mine.csv" in page and "theirs.csv" not in page
    listed = manager.get(reverse("api-imports")).json()
    assert [r["id"] for r in listed["results"]] == [mine.pk]

    lines = manager.get(reverse("api-transactions")).json()["results"]
    assert [line["customer_id"] for line in lines] == ["77"]
    filtered = manager.get(reverse("api-transactions"), {"customer": "1001"}).json()
    assert filtered["results"] == []

    undo_page = manager.get(reverse("customers:import-undo", args=[mine.pk]))
    assert undo_page.context["lines"] == 1


def test_the_others_member_sees_their_rows_under_their_prefix(theirs, client_for):
    member = Client()
    member.force_login(_member(theirs.workspace, "manager", "their-manager"))
    prefix = f"/w/{theirs.workspace.slug}"
    page = member.get(prefix + reverse("customers:import-detail", args=[theirs.pk]))
    assert page.status_code == 200 and "theirs.csv" in page.content.decode()
    customer = customers_of(theirs.workspace).get(external_id="1001")
    lines = member.get(prefix + reverse("customers:customer-lines", args=[customer.pk]))
    assert lines.status_code == 200 and "THEIR MUG" in lines.content.decode()
    assert "Amount ($)" in lines.content.decode()  # the other shop's currency


# ------------------------------------------------------------------ the workspace's settings
def test_a_new_import_reads_dates_in_the_workspaces_order_and_time_zone(other_shop, tmp_path):
    other_shop.date_order = "dayfirst"
    other_shop.time_zone = "America/New_York"
    other_shop.save()
    path = write(tmp_path, "days.csv", HEADER + "1,P,MUG,1,03/02/2011 10:00,2.00,5,US\n")

    record = import_path(path, workspace=other_shop)

    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert record.date_order == "dayfirst"
    stored = lines_of(other_shop).get().timestamp
    assert stored == datetime(2011, 2, 3, 10, 0, tzinfo=ZoneInfo("America/New_York"))

    # The user's choice wins over the workspace's.
    chosen = import_path(
        write(tmp_path, "months.csv", HEADER + "2,P,MUG,1,03/02/2011 10:00,2.00,6,US\n"),
        workspace=other_shop,
        date_order="monthfirst",
    )
    assert chosen.date_order == "monthfirst"
    assert lines_of(other_shop).get(invoice="2").timestamp == datetime(
        2011, 3, 2, 10, 0, tzinfo=ZoneInfo("America/New_York")
    )


def test_a_workspace_whose_files_are_iso_still_reads_a_file_of_day_month_dates(
    other_shop, tmp_path
):
    """ISO names how the shop writes dates, and a day/month date is never ISO: the file's
    own dates decide, as when the workspace names no order, instead of every date being
    rejected as unreadable."""
    other_shop.date_order = "iso"
    other_shop.save()
    rows = "1,P,MUG,1,11/8/2016 10:00,2.00,5,US\n2,P,MUG,1,11/22/2016 10:00,2.00,5,US\n"
    record = import_path(write(tmp_path, "us.csv", HEADER + rows), workspace=other_shop)

    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert record.rows_rejected == 0
    assert lines_of(other_shop).get(invoice="1").timestamp.date() == date(2016, 11, 8)

    # Dates that never tell: the import asks for the order, quoting one of them.
    ambiguous = write(tmp_path, "amb.csv", HEADER + "3,P,MUG,1,11/8/2016 10:00,2.00,6,US\n")
    failed = import_path(ambiguous, workspace=other_shop)
    assert failed.status == ImportRecord.Status.FAILED
    assert "ambiguous" in failed.error and "“11/8/2016 10:00”" in failed.error
    assert not lines_of(other_shop).filter(invoice="3").exists()


def test_a_file_that_contradicts_the_workspaces_date_order_fails_instead_of_being_misread(
    other_shop, tmp_path
):
    """A day-first shop's workspace, a file written month first: 11/22/2016 cannot be day
    first, and 11/8/2016 would have been stored as 11 August. Nothing is stored; the message
    quotes the date and says where the order came from. Chosen on upload, the order is
    applied as chosen: such dates are rejected one by one."""
    other_shop.date_order = "dayfirst"
    other_shop.save()
    rows = "1,P,MUG,1,11/8/2016 10:00,2.00,5,US\n2,P,MUG,1,11/22/2016 10:00,2.00,5,US\n"
    path = write(tmp_path, "us.csv", HEADER + rows)

    record = import_path(path, workspace=other_shop)

    assert record.status == ImportRecord.Status.FAILED
    assert "Dates such as “11/22/2016 10:00” are month-first" in record.error
    assert "reads day-first dates (this workspace's setting)" in record.error
    assert not lines_of(other_shop).exists()

    chosen = import_path(path, workspace=other_shop, date_order="dayfirst")
    assert chosen.status == ImportRecord.Status.SUCCEEDED, chosen.error
    assert (chosen.rows_imported, chosen.rows_rejected, chosen.date_order_chosen) == (1, 1, True)
    assert lines_of(other_shop).get().timestamp.date() == date(2016, 8, 11)


def test_the_same_local_time_is_a_different_instant_in_each_shops_zone(shop, other_shop, tmp_path):
    other_shop.time_zone = "Asia/Tokyo"
    other_shop.save()
    path = write(tmp_path, "t.csv", HEADER + "1,P,MUG,1,2024-05-01 09:00:00,2.00,5,UK\n")
    import_path(path, workspace=shop)
    import_path(path, workspace=other_shop)

    assert lines_of(shop).get().timestamp == datetime(
        2024, 5, 1, 9, tzinfo=ZoneInfo(shop.time_zone)
    )
    assert lines_of(other_shop).get().timestamp == datetime(
        2024, 5, 1, 9, tzinfo=ZoneInfo("Asia/Tokyo")
    )


def test_lines_sent_as_json_are_read_in_the_workspaces_time_zone(other_shop):
    other_shop.time_zone = "America/New_York"
    other_shop.save()
    client = Client()
    client.force_login(_member(other_shop, "manager", "json-sender"))
    line = {"customer_id": "5", "invoice": "1", "quantity": 1, "unit_price": 2.0}
    body = {
        "lines": [
            {**line, "timestamp": "2011-02-03T10:00:00"},
            {**line, "invoice": "2", "timestamp": "2011-02-03T10:00:00Z"},
        ]
    }

    response = client.post(
        f"/w/{other_shop.slug}/api/v1/transactions/",
        json.dumps(body),
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    stored = dict(lines_of(other_shop).values_list("invoice", "timestamp"))
    assert stored["1"] == datetime(2011, 2, 3, 10, tzinfo=ZoneInfo("America/New_York"))
    assert stored["2"] == datetime(2011, 2, 3, 10, tzinfo=ZoneInfo("UTC"))  # its own offset
    record = ImportRecord.objects.in_workspace(other_shop).get()
    assert record.rows_imported == 2


def test_the_upload_form_names_the_workspaces_date_order(shop, client_for):
    shop.date_order = "monthfirst"
    shop.save()
    page = client_for("manager").get(reverse("customers:import-create")).content.decode()
    assert "This workspace&#x27;s: Month first" in page or "This workspace's: Month first" in page


def test_the_command_imports_into_the_workspace_named(shop, other_shop):
    other_shop.date_order = "dayfirst"
    other_shop.save()
    out = StringIO()
    call_command(
        "import_transactions", str(CDNOW_SLICE), "--workspace", other_shop.slug, stdout=out
    )
    record = ImportRecord.objects.in_workspace(other_shop).get()
    assert record.date_order == "dayfirst"  # no --date-order: the workspace's
    assert not ImportRecord.objects.in_workspace(shop).exists()


def test_the_worker_imports_into_the_imports_workspace(other_shop, run_tasks_inline):
    from customers.services import import_record_create

    with open(CDNOW_SLICE, "rb") as f:
        record = import_record_create(workspace=other_shop, file=f, file_name="c.csv")

    assert run_tasks_inline == [record.pk]
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert customers_of(other_shop).count() == 400


def test_the_admin_lists_every_workspaces_rows_with_the_workspace(shop, theirs, admin_client):
    import_path(CDNOW_SLICE, workspace=shop)
    page = admin_client.get(
        "/admin/customers/customer/", {"workspace__id__exact": theirs.workspace.pk}
    )
    assert page.status_code == 200
    assert page.context["cl"].result_count == 2  # the other shop's customers 1001 and 1002
    imports = admin_client.get("/admin/customers/importrecord/")
    assert imports.status_code == 200 and imports.context["cl"].result_count == 2
    detail = admin_client.get(f"/admin/customers/importrecord/{theirs.pk}/change/")
    assert detail.status_code == 200 and "theirs.csv" in detail.content.decode()
    rejected = admin_client.get("/admin/customers/importrejectedrow/")
    assert rejected.status_code == 200 and rejected.context["cl"].result_count == 1
