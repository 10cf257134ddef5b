"""The upload page, the detail page, the rejected-rows CSV and the REST API, by role."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from customers.models import REASON_LABELS, ImportRecord, TransactionLine

from .conftest import CDNOW_SLICE, ONLINE_RETAIL_SLICE, import_path, in_shop

pytestmark = pytest.mark.django_db

SMALL = (
    b"InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    b"536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"
)


def upload(name="small.csv", data=SMALL):
    return SimpleUploadedFile(name, data, content_type="text/csv")


@pytest.mark.parametrize(
    ("role", "page", "api_get", "api_post"),
    [("marketing", 403, 403, 403), ("manager", 200, 200, 202), ("admin", 200, 200, 202)],
)
def test_roles(client_for, run_tasks_inline, role, page, api_get, api_post):
    client = client_for(role)
    assert client.get(reverse("customers:import-create")).status_code == page
    assert client.get(reverse("customers:import-list")).status_code == page
    assert client.get(reverse("api-imports")).status_code == api_get
    response = client.post(reverse("api-imports"), {"file": upload()})
    assert response.status_code == api_post


def test_anonymous_is_sent_to_sign_in_or_refused():
    client = Client()
    response = client.get(reverse("customers:import-create"))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.post(reverse("api-imports"), {"file": upload()}).status_code in (401, 403)
    assert ImportRecord.unscoped.count() == 0


def test_manager_uploads_through_the_page_and_sees_the_result(client_for, run_tasks_inline):
    client = client_for("manager")
    response = client.post(reverse("customers:import-create"), {"file": upload()})
    record = ImportRecord.unscoped.get()
    assert response.status_code == 302 and response["Location"] == in_shop(
        record.get_absolute_url()
    )
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.SUCCEEDED
    assert record.uploaded_by.username == "manager-user"
    assert TransactionLine.unscoped.count() == 1
    page = client.get(record.get_absolute_url())
    assert b"Lines imported" in page.content and b"import_progress.js" in page.content
    status = client.get(reverse("customers:import-status", args=[record.pk])).json()
    assert status["status"] == "succeeded" and status["progress"] == 100 and status["finished"]
    listing = client.get(reverse("customers:import-list"))
    assert b"small.csv" in listing.content


def test_upload_page_keeps_input_and_shows_errors_beside_the_field(client_for, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = len(SMALL) - 1
    client = client_for("manager")
    response = client.post(
        reverse("customers:import-create"),
        {"file": upload(), "date_order": "dayfirst", "sheet": "Orders"},
    )
    assert response.status_code == 200
    assert "the largest file accepted is" in response.content.decode()
    assert b'value="Orders"' in response.content
    assert b'value="dayfirst" selected' in response.content
    assert b'<label for="id_file">File</label>' in response.content
    assert ImportRecord.unscoped.count() == 0
    settings.IMPORT_MAX_UPLOAD_BYTES = 5 * 1024 * 1024
    page = client.get(reverse("customers:import-create")).content.decode()
    assert "or .xlsx. Up to 5.0\xa0MB." in page  # the limit is said before uploading


def test_mapping_step_on_the_page(client_for, run_tasks_inline):
    client = client_for("manager")
    data = b"Kunde,Datum,Summe\nk1,2011-02-03,10.5\nk2,2011-02-04,7\n"
    client.post(reverse("customers:import-create"), {"file": upload("shop.csv", data)})
    record = ImportRecord.unscoped.get()
    assert record.status == ImportRecord.Status.NEEDS_MAPPING
    page = client.get(record.get_absolute_url())
    assert b"Which column holds which field?" in page.content
    response = client.post(
        record.get_absolute_url(),
        {"map_customer_id": "Kunde", "map_timestamp": "Datum", "map_amount": "Summe"},
    )
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert record.rows_imported == 2


def test_api_upload_with_mapping_status_and_rejected_rows(client_for, run_tasks_inline):
    client = client_for("manager")
    data = b"Kunde,Datum,Summe\nk1,03/02/2011,10.5\nk2,13/02/2011,abc\n"
    response = client.post(
        reverse("api-imports"),
        {
            "file": upload("shop.csv", data),
            "mapping": "customer_id=Kunde,timestamp=Datum,amount=Summe",
            "date_order": "dayfirst",
        },
    )
    assert response.status_code == 202, response.json()
    pk = response.json()["id"]
    detail = client.get(reverse("api-import-detail", args=[pk])).json()
    assert detail["status"] == "succeeded"
    assert (detail["rows_read"], detail["rows_imported"], detail["rows_rejected"]) == (2, 1, 1)
    assert detail["mapping"] == {"customer_id": "Kunde", "timestamp": "Datum", "amount": "Summe"}
    rejected = client.get(reverse("api-import-rejected-rows", args=[pk])).json()
    assert rejected["count"] == 1
    assert rejected["results"] == [
        {"line_number": 3, "column": "Summe", "value": "abc", "message": "Not a number."}
    ]


def test_api_refuses_unrecognised_columns_with_the_columns(client_for):
    client = client_for("manager")
    response = client.post(reverse("api-imports"), {"file": upload("x.csv", b"a,b\n1,2\n")})
    assert response.status_code == 400
    body = response.json()
    assert body["columns"] == ["a", "b"]
    assert body["missing_fields"] == ["customer_id", "timestamp", "unit_price or amount"]
    assert ImportRecord.unscoped.count() == 0


def test_api_status_fields_are_read_only(client_for):
    record = import_path(CDNOW_SLICE)
    client = client_for("manager")
    response = client.patch(
        reverse("api-import-detail", args=[record.pk]),
        {"status": "failed"},
        content_type="application/json",
    )
    assert response.status_code == 405
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.SUCCEEDED


def test_rejected_rows_csv_neutralises_formulas(client_for):
    import tempfile
    from pathlib import Path

    data = (
        "cust,when,total\n"
        'c1,2011-01-01,"=HYPERLINK(""http://x"",""y"")"\n'
        "c2,2011-01-02,@SUM(A1)\n"
        "c3,2011-01-03,5\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.csv"
        path.write_text(data)
        record = import_path(
            path, mapping={"customer_id": "cust", "timestamp": "when", "amount": "total"}
        )
    client = client_for("manager")
    response = client.get(reverse("customers:import-rejected-csv", args=[record.pk]))
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["line", "column", "value", "message"]
    assert rows[1] == ["2", "total", '\'=HYPERLINK("http://x","y")', "Not a number."]
    assert rows[2][2] == "'@SUM(A1)"
    assert (
        client_for("marketing")
        .get(reverse("customers:import-rejected-csv", args=[record.pk]))
        .status_code
        == 403
    )


def test_navigation_shows_imports_to_managers_only(client_for):
    assert b">Imports<" in client_for("manager").get(reverse("home")).content
    assert b">Imports<" not in client_for("marketing").get(reverse("home")).content


def test_failed_import_page_shows_the_reason(client_for, tmp_path):
    path = tmp_path / "amb.csv"
    path.write_text("cust,when,total\nc1,01/02/2011,1\n")
    record = import_path(
        path, mapping={"customer_id": "cust", "timestamp": "when", "amount": "total"}
    )
    assert record.status == ImportRecord.Status.FAILED
    client = client_for("manager")
    page = client.get(record.get_absolute_url())
    assert page.status_code == 200
    assert b"dates are ambiguous" in page.content
    assert b'class="status bad"' in page.content
    api = client.get(reverse("api-import-detail", args=[record.pk])).json()
    assert api["status"] == "failed" and "ambiguous" in api["error"]
    assert TransactionLine.unscoped.count() == 0


def test_the_api_answers_the_deprecated_percent_and_error_message_as_progress_and_error(
    client_for, run_tasks_inline, tmp_path
):
    client = client_for("manager")
    created = client.post(reverse("api-imports"), {"file": upload()}).json()
    path = tmp_path / "amb.csv"
    path.write_text("cust,when,total\nc1,01/02/2011,1\n")
    failed = import_path(
        path, mapping={"customer_id": "cust", "timestamp": "when", "amount": "total"}
    )
    done = client.get(reverse("api-import-detail", args=[created["id"]])).json()
    assert (done["progress"], done["error"]) == (100, "")
    wrong = client.get(reverse("api-import-detail", args=[failed.pk])).json()
    assert "ambiguous" in wrong["error"]
    listed = client.get(reverse("api-imports")).json()["results"]
    for body in [created, done, wrong, *listed]:
        assert body["percent"] == body["progress"]
        assert body["error_message"] == body["error"]


def test_the_schema_marks_percent_and_error_message_deprecated():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    fields = schema["components"]["schemas"]["ImportRecord"]["properties"]
    assert "deprecated" not in fields["progress"] and "deprecated" not in fields["error"]
    for old, new in [("percent", "progress"), ("error_message", "error")]:
        assert fields[old]["deprecated"] is True
        assert fields[old]["description"].startswith(f"Deprecated: use {new}")


@pytest.mark.parametrize("door", ["page", "api"])
def test_an_oversize_upload_is_not_kept_past_the_limit(client_for, settings, monkeypatch, door):
    """Past IMPORT_MAX_UPLOAD_BYTES no byte of the file reaches Django's storing handlers,
    and the refusal still names the full size received."""
    from django.core.files.uploadhandler import MemoryFileUploadHandler

    kept = []
    original = MemoryFileUploadHandler.receive_data_chunk

    def spy(self, raw_data, start):
        kept.append(len(raw_data))
        return original(self, raw_data, start)

    monkeypatch.setattr(MemoryFileUploadHandler, "receive_data_chunk", spy)
    limit = 100_000
    settings.IMPORT_MAX_UPLOAD_BYTES = limit
    row = b"536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"
    data = SMALL + row * (400_000 // len(row))  # several of the parser's 64 KiB chunks
    client = client_for("manager")
    if door == "page":
        response = client.post(
            reverse("customers:import-create"), {"file": upload("big.csv", data)}
        )
        assert response.status_code == 200
        message = response.content.decode()
    else:
        response = client.post(reverse("api-imports"), {"file": upload("big.csv", data)})
        assert response.status_code == 400
        message = response.json()["fields"]["file"][0]
    assert f"The file is {len(data):,} bytes; the largest file accepted is {limit:,}" in message
    assert 0 < sum(kept) <= limit
    assert ImportRecord.unscoped.count() == 0


def test_import_page_explains_each_count_by_reason(client_for):
    record = import_path(ONLINE_RETAIL_SLICE)
    reasons = record.counts_by_reason
    assert {"skipped_no_customer_id", "duplicate_in_file", "imported_returns"} <= set(reasons)
    client = client_for("manager")
    page = client.get(record.get_absolute_url()).content.decode()
    for key, label in REASON_LABELS.items():
        if key in reasons:
            assert f'<th scope="row">{escape(label)}</th>' in page
        assert key not in page  # the API's keys are not shown to people
    api = client.get(reverse("api-import-detail", args=[record.pk])).json()
    assert api["counts_by_reason"] == reasons
