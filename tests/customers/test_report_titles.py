"""Reports put a title, the shop's name and the period above the header, and a blank line
or two. The header is found under them; the lines above are skipped and the import says so;
rows and rejected rows keep the file's own line numbers (a sheet's own row numbers)."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import ImportRecord, TransactionLine
from transaction_files.sources import inspect_source, iter_chunks

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HEADER = "Customer,Date,Invoice,Amount\n"


def info_of(tmp_path, text: str):
    path = tmp_path / "report.csv"
    path.write_text(text)
    return path, inspect_source(path)


def test_a_header_on_the_first_line_is_taken_as_it_always_was(tmp_path):
    _, info = info_of(tmp_path, HEADER + "a,2024-01-01,1,5\n")
    assert (info.header_line, info.columns, info.notices) == (
        1,
        ["Customer", "Date", "Invoice", "Amount"],
        [],
    )


def test_title_lines_and_blank_lines_above_the_header_are_skipped(tmp_path):
    text = (
        "Sales by customer\n"
        "Main St Coffee,From 2024-01-01 to 2024-01-31\n"
        ",,,\n"  # Excel pads a blank line to the full width
        "\n" + HEADER + "a,2024-01-01,1,5\n"
        "b,2024-01-02\n"  # too few columns: line 7
        "c,2024-01-03,2,6\n"
    )
    path, info = info_of(tmp_path, text)
    assert info.header_line == 5 and info.columns[0] == "Customer"
    assert info.notices == [
        "Lines 1 to 4 were skipped (“Sales by customer”): the header is on line 5, under a "
        "title as reports put one."
    ]
    bad = []
    chunks = list(iter_chunks(path, info, columns=info.columns, on_bad_row=bad.append))
    assert [line for chunk in chunks for line in chunk.line_numbers] == [6, 8]
    assert [b.line_number for b in bad] == [7]


def test_a_blank_first_line_is_no_empty_file(tmp_path):
    _, info = info_of(tmp_path, "\n" + HEADER + "a,2024-01-01,1,5\n")
    assert info.header_line == 2
    assert info.notices[0].startswith("Line 1 was skipped: the header is on line 2")


def test_a_line_of_three_fields_or_more_is_the_header(tmp_path):
    """A title never fills three fields; a header names a customer, a date and an amount
    at least. So a first line of three names stays the header."""
    _, info = info_of(tmp_path, "a,b,c\n" + HEADER + "x,2024-01-01,1,5\n")
    assert (info.header_line, info.columns) == (1, ["a", "b", "c"])


@pytest.mark.django_db
def test_a_square_report_with_a_title_imports_with_its_own_line_numbers(
    client_for, shop, run_tasks_inline
):
    shop.currency = "USD"
    shop.save(update_fields=["currency"])
    export = (FIXTURES / "square_item_sales.csv").read_text().replace("08:30:00", "8.30")
    text = "Item Sales\nMain St,2024-03-01 to 2024-03-31\n\n" + export
    file = SimpleUploadedFile("item-sales.csv", text.encode(), content_type="text/csv")
    client = client_for("manager")
    assert client.post(reverse("customers:import-create"), {"file": file}).status_code == 302
    record = ImportRecord.unscoped.get()
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert record.mapping["line_type"] == "Event Type"  # known as Square's, under its title
    assert record.rows_imported == 3
    # the bad time is on the file's line 9: three title lines, the header, five rows
    assert record.rejected_rows.get().line_number == 9
    page = client.get(record.get_absolute_url()).content.decode()
    assert "Lines 1 to 3 were skipped (“Item Sales”)" in page


@pytest.mark.django_db
def test_a_workbook_with_a_title_row_imports_from_its_header_row(
    client_for, shop, run_tasks_inline
):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Orders, December"])
    sheet.append([])
    sheet.append(["CustomerID", "InvoiceDate", "InvoiceNo", "Quantity", "UnitPrice"])
    sheet.append(["c1", "2024-01-05 10:00", "1", 2, 3.5])
    sheet.append(["c2", "yesterday", "2", 1, 4])
    buffer = io.BytesIO()
    workbook.save(buffer)
    file = SimpleUploadedFile("orders.xlsx", buffer.getvalue())
    client_for("manager").post(reverse("customers:import-create"), {"file": file})
    record = ImportRecord.unscoped.get()
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert record.columns[0] == "CustomerID"
    assert TransactionLine.unscoped.get().amount == 7
    assert record.rejected_rows.get().line_number == 5  # the sheet's own row
    assert "Lines 1 to 2 were skipped (“Orders, December”)" in record.notices[0]


def test_a_gzip_report_with_a_title_is_read_from_its_header(tmp_path):
    import gzip

    from transaction_files.reader import read_lines

    text = "Sales by customer\n\n" + HEADER + "a,2024-01-01,1,5\n" + "b,2024-01-02,2,x\n"
    path = tmp_path / "report.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    lines = read_lines(path)
    assert lines.lines["customer_ext"].tolist() == ["a"]
    assert [(r.line_number, r.column) for r in lines.rejections] == [(5, "Amount")]
    assert lines.notices[0].startswith("Lines 1 to 2 were skipped")
