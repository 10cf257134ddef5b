"""Workbooks are opened on the worker only (issue 23, item 5): an upload through the page or
the API makes only the cheap checks, the worker reads the header and first rows and moves the
import on (mapping step, import, or failed with the message), and the mapping step works from
the rows kept on the import without opening the file."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import ImportRecord, TransactionLine
from customers.tasks import imports_redispatch_undelivered, process_import
from tests.customers.test_bad_files import xlsx_bytes
from tests.customers.test_mapping_pages import grocery, preview_table, selected
from tests.hardening.test_file_limits import (
    HEADER,
    ROW,
    billion_laughs,
    external_entity,
    workbook_with,
)
from transaction_files.preview import SAMPLE_CELL_CHARS, SAMPLE_MAX_CHARS, FileSample

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def grocery_xlsx(**options) -> bytes:
    """The mapping pages' grocery file (a header no layout recognises), as a workbook."""
    rows = list(csv.reader(io.StringIO(grocery(**options).decode())))
    return xlsx_bytes({"Sheet": rows})


def retail_xlsx() -> bytes:
    """Online Retail's header (recognised) and one row."""
    return xlsx_bytes({"Sheet": [HEADER.strip().split(","), ROW.strip().split(",")]})


@pytest.fixture
def queued(monkeypatch):
    """Tasks the request queued, kept (not run) so the test runs them as the worker would."""
    pks: list[int] = []
    monkeypatch.setattr(process_import, "delay_on_commit", pks.append)
    return pks


@pytest.fixture
def no_workbook_opened(monkeypatch):
    """openpyxl's loader fails the test if anything opens a workbook while it is on; the
    test turns it off (`.off()`) before it plays the worker."""

    class Guard:
        def __init__(self):
            self.calls: list[str] = []

        def on(self):
            def refuse(*args, **kwargs):
                self.calls.append(str(args[0]) if args else "?")
                raise AssertionError("a workbook was opened outside the worker")

            monkeypatch.setattr(openpyxl, "load_workbook", refuse)

        def off(self):
            monkeypatch.setattr(openpyxl, "load_workbook", real)

    real = openpyxl.load_workbook
    guard = Guard()
    guard.on()
    return guard


def page_upload(client, name: str, data: bytes, **fields):
    return client.post(
        reverse("customers:import-create"),
        {"file": SimpleUploadedFile(name, data, content_type=XLSX), **fields},
    )


def work(pks: list[int]) -> None:
    """Run the queued tasks, as the worker would, and forget them."""
    while pks:
        process_import.apply(args=[pks.pop(0)])


def test_page_upload_reads_the_workbook_on_the_worker_then_maps_and_imports(
    client_for, queued, no_workbook_opened
):
    client = client_for("manager")
    response = page_upload(client, "grocery.xlsx", grocery_xlsx())
    assert response.status_code == 302
    record = ImportRecord.unscoped.get()
    assert (record.status, record.columns, record.sample) == ("reading", [], {})
    assert queued == [record.pk]
    page = client.get(record.get_absolute_url()).content.decode()
    assert "Reading the file" in page and 'id="import-reading"' in page
    assert 'data-status="reading"' in page  # the poller reloads once the worker is done
    status = client.get(reverse("customers:import-status", args=[record.pk])).json()
    assert (status["status"], status["status_display"], status["finished"]) == (
        "reading",
        "Reading the file",
        False,
    )
    assert no_workbook_opened.calls == []

    no_workbook_opened.off()
    work(queued)
    no_workbook_opened.on()
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.NEEDS_MAPPING
    assert record.columns[:3] == ["household_id", "basket_id", "product_id"]
    assert record.mapping["customer_id"] == "household_id"
    assert len(record.sample["rows"]) == 8 and record.sample["line_numbers"][0] == 2

    # The mapping step and its preview work from the stored rows, not from the file.
    Path(record.file.path).unlink()
    page = client.get(record.get_absolute_url()).content.decode()
    assert selected(page, "timestamp") == "transaction_timestamp"
    table = preview_table(page)
    assert "2023-06-01 10:15:00" in table and 'data-role="customer">2000<' in table
    assert 'data-role="amount">£1.25<' in table
    chosen = {
        "map_customer_id": "household_id",
        "map_timestamp": "transaction_timestamp",
        "map_invoice": "basket_id",
        "map_amount": "sales_value",
    }
    page = client.post(record.get_absolute_url(), {"action": "preview", **chosen})
    assert 'data-role="customer">2001<' in preview_table(page.content.decode())
    assert no_workbook_opened.calls == []

    # Importing needs the file again, on the worker.
    record.file.save("grocery.xlsx", ContentFile(grocery_xlsx()), save=True)
    response = client.post(record.get_absolute_url(), {"action": "import", **chosen})
    assert response.status_code == 302
    assert queued == [record.pk]
    no_workbook_opened.off()
    work(queued)
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert record.rows_imported == 8
    assert record.layout_id is not None  # mapped by hand: remembered


def test_a_remembered_layout_skips_the_mapping_step_for_a_workbook(
    client_for, queued, no_workbook_opened
):
    client = client_for("manager")
    no_workbook_opened.off()
    page_upload(client, "first.xlsx", grocery_xlsx())
    work(queued)
    first = ImportRecord.unscoped.get()
    client.post(
        first.get_absolute_url(),
        {
            "action": "import",
            "map_customer_id": "household_id",
            "map_timestamp": "transaction_timestamp",
            "map_invoice": "basket_id",
            "map_amount": "sales_value",
        },
    )
    work(queued)
    first.refresh_from_db()
    assert first.status == ImportRecord.Status.SUCCEEDED, first.error

    no_workbook_opened.on()
    page_upload(client, "next.xlsx", grocery_xlsx(rows=5, first_customer=5000))
    second = ImportRecord.unscoped.latest("id")
    assert second.status == ImportRecord.Status.READING
    assert no_workbook_opened.calls == []
    no_workbook_opened.off()
    work(queued)  # one task: header read, layout found, lines imported
    second.refresh_from_db()
    assert second.status == ImportRecord.Status.SUCCEEDED, second.error
    assert second.layout_id == first.layout_id
    assert second.rows_imported == 5
    assert TransactionLine.unscoped.filter(import_record=second).count() == 5
    assert "remembered layout" in client.get(second.get_absolute_url()).content.decode()


def test_api_upload_answers_202_reading_and_the_worker_imports(
    client_for, queued, no_workbook_opened
):
    client = client_for("manager")
    response = client.post(
        reverse("api-imports"), {"file": SimpleUploadedFile("retail.xlsx", retail_xlsx())}
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["columns"], body["error"]) == ("reading", [], "")
    assert queued == [body["id"]]
    assert no_workbook_opened.calls == []

    no_workbook_opened.off()
    work(queued)
    detail = client.get(reverse("api-import-detail", args=[body["id"]])).json()
    assert detail["status"] == "succeeded", detail["error"]
    assert (detail["rows_read"], detail["rows_imported"]) == (1, 1)
    assert detail["columns"] == HEADER.strip().split(",")
    assert detail["mapping"]["customer_id"] == "CustomerID"


def test_api_workbook_with_unrecognised_columns_fails_saying_which(client_for, queued):
    client = client_for("manager")
    response = client.post(
        reverse("api-imports"), {"file": SimpleUploadedFile("g.xlsx", grocery_xlsx())}
    )
    assert response.status_code == 202
    work(queued)
    detail = client.get(reverse("api-import-detail", args=[response.json()["id"]])).json()
    assert detail["status"] == "failed"
    assert detail["error"].startswith("The columns of this file were not recognised.")
    assert "household_id" in detail["error"]
    assert detail["columns"][0] == "household_id"


def test_api_workbook_with_a_mapping_imports_with_it(client_for, queued):
    client = client_for("manager")
    response = client.post(
        reverse("api-imports"),
        {
            "file": SimpleUploadedFile("g.xlsx", grocery_xlsx()),
            "mapping": "customer_id=household_id,timestamp=transaction_timestamp,"
            "amount=sales_value",
            "date_order": "iso",
        },
    )
    assert response.status_code == 202
    assert response.json()["date_order"] == "iso"
    work(queued)
    record = ImportRecord.unscoped.get()
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    given = {"customer_id": "household_id", "timestamp": "transaction_timestamp"}
    assert {**record.mapping, **given, "amount": "sales_value"} == record.mapping
    assert record.date_order == "iso"


@pytest.mark.parametrize("attack", [billion_laughs, external_entity])
def test_an_entity_workbook_ends_failed_with_its_message_never_a_500(client_for, queued, attack):
    client = client_for("manager")
    data = workbook_with("xl/worksheets/sheet1.xml", attack)
    page = page_upload(client, "bomb.xlsx", data)
    api = client.post(reverse("api-imports"), {"file": SimpleUploadedFile("bomb.xlsx", data)})
    assert (page.status_code, api.status_code) == (302, 202)
    work(queued)
    records = list(ImportRecord.unscoped.order_by("id"))
    assert [r.status for r in records] == ["failed", "failed"]
    for record in records:
        assert record.error.startswith("The workbook declares XML entities"), record.error
        assert record.finished_at is not None
        shown = client.get(record.get_absolute_url())
        assert shown.status_code == 200
        assert "The workbook declares XML entities" in shown.content.decode()
    assert TransactionLine.unscoped.count() == 0


def test_a_padded_workbook_is_refused_in_the_request_by_the_cheap_checks(
    client_for, queued, no_workbook_opened
):
    padded = workbook_with("xl/worksheets/sheet1.xml", lambda xml: xml + " " * 20_000_000)
    response = page_upload(client_for("manager"), "padded.xlsx", padded)
    assert response.status_code == 200  # the form again, with the reason
    assert "The workbook inflates more than 100 times its size" in response.content.decode()
    assert ImportRecord.unscoped.count() == 0 and queued == []
    assert no_workbook_opened.calls == []


def test_a_workbook_of_two_sheets_fails_asking_for_the_sheet(client_for, queued):
    rows = [HEADER.strip().split(","), ROW.strip().split(",")]
    client = client_for("manager")
    page_upload(client, "two.xlsx", xlsx_bytes({"2010": rows, "2011": rows}))
    work(queued)
    record = ImportRecord.unscoped.get()
    assert record.status == ImportRecord.Status.FAILED
    assert "2 sheets with data (2010, 2011); choose the sheet" in record.error

    page_upload(client, "two.xlsx", xlsx_bytes({"2010": rows, "2011": rows}), sheet="2011")
    work(queued)
    chosen = ImportRecord.unscoped.latest("id")
    assert chosen.status == ImportRecord.Status.SUCCEEDED, chosen.error
    assert (chosen.sheet, chosen.rows_imported) == ("2011", 1)


def test_an_unexpected_error_while_reading_fails_the_import_with_a_message(
    client_for, queued, monkeypatch
):
    page_upload(client_for("manager"), "retail.xlsx", retail_xlsx())

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(openpyxl, "load_workbook", broken)
    work(queued)
    record = ImportRecord.unscoped.get()
    assert record.status == ImportRecord.Status.FAILED
    assert record.error.startswith("The file could not be read because of an unexpected error")


def test_a_reading_import_whose_message_was_lost_is_sent_again(client_for, queued, monkeypatch):
    from common.outages import WAITING_FOR_THE_QUEUE
    from customers.tasks import import_mark_undelivered

    page_upload(client_for("manager"), "retail.xlsx", retail_xlsx())
    record = ImportRecord.unscoped.get()
    import_mark_undelivered(import_record_id=record.pk)
    record.refresh_from_db()
    assert (record.status, record.stage) == ("reading", WAITING_FOR_THE_QUEUE)
    sent: list[int] = []
    monkeypatch.setattr(process_import, "delay", sent.append)
    assert imports_redispatch_undelivered() == [record.pk]
    assert sent == [record.pk]
    record.refresh_from_db()
    assert record.stage == ""


def test_the_command_reads_a_workbook_in_its_own_process(tmp_path, shop):
    from django.core.management import call_command

    path = tmp_path / "retail.xlsx"
    path.write_bytes(retail_xlsx())
    call_command("import_transactions", str(path), "--workspace", shop.slug, stdout=io.StringIO())
    record = ImportRecord.unscoped.get()
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert record.rows_imported == 1


def test_a_stored_sample_stays_small_whatever_the_file_holds():
    import numpy as np
    import pandas as pd

    wide = pd.DataFrame([["x" * 5000, None, "7"]] * 1200, columns=["a", "b", "c"])
    sample = FileSample(wide, np.arange(2, 1202), ";").to_json()
    assert {len(row[0]) for row in sample["rows"]} == {SAMPLE_CELL_CHARS}
    assert len(sample["rows"]) == SAMPLE_MAX_CHARS // (SAMPLE_CELL_CHARS + 1)
    back = FileSample.from_json(sample, columns=["a", "b", "c"])
    assert back.frame.iloc[0].tolist() == ["x" * SAMPLE_CELL_CHARS, None, "7"]
    assert back.line_numbers[:2].tolist() == [2, 3] and back.delimiter == ";"


def test_a_workbook_started_on_the_worker_is_audited_with_the_uploaders_address(
    client_for, queued, no_workbook_opened
):
    """The "import started" entry of a recognised workbook is written by the worker, out of
    any request: it names the address the file came from, kept on the import."""
    from audit.models import AuditEntry

    client = client_for("manager")
    response = page_upload(client, "retail.xlsx", retail_xlsx())
    assert response.status_code == 302
    record = ImportRecord.unscoped.get()
    assert record.uploaded_from == "127.0.0.1"  # the test client's REMOTE_ADDR
    assert not AuditEntry.unscoped.filter(action="import_started").exists()
    no_workbook_opened.off()
    work(queued)
    entry = AuditEntry.unscoped.get(action="import_started")
    assert (entry.target_id, entry.address) == (str(record.pk), "127.0.0.1")
    assert entry.actor_name == record.uploaded_by.username
