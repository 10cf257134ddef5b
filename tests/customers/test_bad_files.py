"""A corpus of bad files: each gets a clear message, no partial data, earlier data intact."""

import gzip
import io
import os

import openpyxl
import pytest

from customers.models import ImportRecord, ImportRejectedRow, TransactionLine

from .conftest import ONLINE_RETAIL_SLICE, import_or_error, lines_checksum

pytestmark = pytest.mark.django_db

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
ROW = "536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def xlsx_bytes(sheets: dict[str, list[list]]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        ws = workbook.create_sheet(title)
        for row in rows:
            ws.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


GZIP_BODY = gzip.compress(
    (
        HEADER
        + "".join(ROW.replace("17850.0", str(10000 + i * 7919 % 90000)) for i in range(20000))
    ).encode()
)

FAILING = [
    ("empty.csv", b"", "The file is empty."),
    ("header.csv", HEADER.encode(), "header line but no rows"),
    (
        "wrong.csv",
        b"foo,bar\n1,2\n",
        "Say which column holds Customer id, Date / time, Unit price or line amount. "
        "The file's columns are: foo, bar.",
    ),
    ("junk.bin", bytes(range(256)) * 40, "not a CSV or Excel file"),
    ("utf16.csv", (HEADER + ROW).encode("utf-16"), "UTF-16"),
    ("undecodable.csv", (HEADER + ROW).encode() + b"\x81\x8d\x90\x9d,x\n", "neither UTF-8"),
    ("cut.csv.gz", GZIP_BODY[: len(GZIP_BODY) // 2], "truncated"),
    ("old.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "old-style .xls"),
    ("fake.xlsx", b"PK\x03\x04" + b"\x00" * 100, "not a readable Excel workbook"),
]


@pytest.mark.parametrize(("name", "data", "message"), FAILING, ids=[f[0] for f in FAILING])
def test_bad_file_is_refused_with_a_clear_message(tmp_path, seeded, name, data, message):
    record, error = import_or_error(write(tmp_path, name, data))
    assert message in error
    if record is not None:
        assert record.status == ImportRecord.Status.FAILED
        assert not TransactionLine.unscoped.filter(import_record=record).exists()
    assert lines_checksum() == seeded


def test_two_sheet_workbook_needs_a_sheet_choice(tmp_path, seeded):
    rows = [HEADER.strip().split(","), ROW.strip().split(",")]
    path = write(tmp_path, "two.xlsx", xlsx_bytes({"2010": rows, "2011": rows}))

    record, error = import_or_error(path)
    assert record is None
    assert "2 sheets with data (2010, 2011); choose the sheet" in error
    assert lines_checksum() == seeded

    record, error = import_or_error(path, sheet="2011")
    assert record.status == ImportRecord.Status.SUCCEEDED, error
    assert record.rows_imported == 1


def test_ambiguous_dates_ask_for_the_order(tmp_path, seeded):
    body = "cust,when,total\n" + "".join(
        f"c{i},0{i % 9 + 1}/0{i % 7 + 1}/2011,1.5\n" for i in range(50)
    )
    path = write(tmp_path, "amb.csv", body.encode())
    mapping = {"customer_id": "cust", "timestamp": "when", "amount": "total"}

    record, error = import_or_error(path, mapping=mapping)
    assert record.status == ImportRecord.Status.FAILED
    assert "dates are ambiguous" in error and "Choose the date order" in error
    assert "(such as “01/01/2011”)" in error  # the file's own first date
    assert lines_checksum() == seeded

    record, _ = import_or_error(path, mapping=mapping, date_order="dayfirst")
    assert record.status == ImportRecord.Status.SUCCEEDED
    line = TransactionLine.unscoped.get(customer__external_id="c1")
    assert (line.timestamp.day, line.timestamp.month) == (2, 2)


def test_day_first_dates_are_detected_from_the_file(tmp_path):
    body = "cust;when;total\nc1;03/04/2011 10:00;1,5\nc2;25/04/2011 11:30;2\n"
    record, error = import_or_error(
        write(tmp_path, "eu.csv", body.encode()),
        mapping={"customer_id": "cust", "timestamp": "when", "amount": "total"},
    )
    assert record.status == ImportRecord.Status.SUCCEEDED, error
    line = TransactionLine.unscoped.get(customer__external_id="c1")
    assert (line.timestamp.month, line.timestamp.day) == (4, 3)
    assert line.amount == 1.5  # decimal comma in a semicolon file


def test_latin1_file_imports_with_a_notice(tmp_path):
    row = ROW.replace("WHITE HANGING HEART", "CAFÉ VOUCHER £10")
    record, error = import_or_error(write(tmp_path, "latin.csv", (HEADER + row).encode("latin-1")))
    assert record.status == ImportRecord.Status.SUCCEEDED, error
    assert "read as Windows-1252" in " ".join(record.notices)
    assert TransactionLine.unscoped.get().description == "CAFÉ VOUCHER £10"


def test_a_file_excel_saved_in_windows_1252_keeps_its_euro_signs_and_curly_quotes(tmp_path):
    """Excel's "CSV (Comma delimited)" on Windows writes Windows-1252: €, ’ and – are bytes
    Latin-1 reads as control characters, which refused the whole file."""
    row = ROW.replace("WHITE HANGING HEART", "Children’s mug – €5 off")
    record, error = import_or_error(write(tmp_path, "excel.csv", (HEADER + row).encode("cp1252")))
    assert record.status == ImportRecord.Status.SUCCEEDED, error
    assert "read as Windows-1252" in " ".join(record.notices)
    assert TransactionLine.unscoped.get().description == "Children’s mug – €5 off"


def test_latin1_found_late_restarts_the_read(tmp_path, monkeypatch):
    from transaction_files import sources

    monkeypatch.setattr(sources, "SAMPLE_BYTES", 4096)
    monkeypatch.setattr(sources, "CSV_BLOCK_BYTES", 4096)
    rows = ROW * 200 + ROW.replace("HEART", "CAFÉ").replace("17850.0", "17851")
    record, error = import_or_error(write(tmp_path, "late.csv", (HEADER + rows).encode("latin-1")))
    assert record.status == ImportRecord.Status.SUCCEEDED, error
    assert record.rows_imported == 2 and record.rows_duplicate == 199
    assert "read as Windows-1252" in " ".join(record.notices)


def test_tab_pipe_and_bom_files(tmp_path):
    for i, (delimiter, prefix) in enumerate([("\t", ""), ("|", "\ufeff"), (";", "\ufeff")]):
        text = prefix + HEADER.replace(",", delimiter) + ROW.replace(",", delimiter)
        text = text.replace("17850.0", f"1785{i}")
        record, error = import_or_error(write(tmp_path, f"f{i}.csv", text.encode()))
        assert record.status == ImportRecord.Status.SUCCEEDED, error
    assert TransactionLine.unscoped.count() == 3


def test_rows_with_bad_values_are_rejected_with_line_and_column(tmp_path, settings):
    # Most of these rows are bad on purpose: past the dry run's share (tested in
    # test_outcomes), which would stop the import before it reports them row by row.
    settings.IMPORT_DRY_RUN_MAX_REJECTED_SHARE = 1.0
    rows = [
        ROW,
        ROW.replace(",6,", ",six,"),
        ROW.replace("2010-12-01 08:26:00", "yesterday"),
        "536365,85123A,TOO,MANY,COLUMNS,1,2,3,4\n",
        ROW.replace(",2.55,", ",2.5x,"),
        ROW.replace("WHITE", "RED"),
    ]
    record, error = import_or_error(write(tmp_path, "bad.csv", (HEADER + "".join(rows)).encode()))
    assert record.status == ImportRecord.Status.SUCCEEDED, error
    assert record.rows_read == 6
    assert record.rows_rejected == 4
    assert record.rows_imported == 2
    got = list(record.rejected_rows.values_list("line_number", "column", "value"))
    assert got == [
        (3, "Quantity", "six"),
        (4, "InvoiceDate", "yesterday"),
        (5, "", "536365,85123A,TOO,MANY,COLUMNS,1,2,3,4"),
        (6, "UnitPrice", "2.5x"),
    ]
    assert record.counts_by_reason["rejected_bad_number"] == 2


def test_rows_of_the_wrong_width_are_reported_from_every_chunk(tmp_path, monkeypatch):
    from transaction_files import sources

    monkeypatch.setattr(sources, "CSV_BLOCK_BYTES", 4096)  # about 45 rows a chunk
    rows = [ROW.replace("17850.0", f"{17000 + i}") for i in range(300)]
    wide = "536365,85123A,TOO,MANY,COLUMNS,1,2,3,4\n"
    for i in (5, 150, 290):
        rows[i] = wide
    record, error = import_or_error(write(tmp_path, "wide.csv", (HEADER + "".join(rows)).encode()))
    assert record.status == ImportRecord.Status.SUCCEEDED, error
    assert (record.rows_read, record.rows_rejected, record.rows_imported) == (300, 3, 297)
    assert list(record.rejected_rows.values_list("line_number", flat=True)) == [7, 152, 292]


def test_a_line_amount_too_large_for_its_column_is_rejected_not_the_file(tmp_path):
    # Each number is in range, but the amount worked out from them (8.1e19) is not: on
    # PostgreSQL it used to fail the whole import with "an unexpected error".
    huge = ROW.replace(",6,", ",9000000000,").replace(",2.55,", ",9000000000,")
    fine = ROW.replace("17850.0", "17851")
    record, error = import_or_error(write(tmp_path, "huge.csv", (HEADER + huge + fine).encode()))
    assert record.status == ImportRecord.Status.SUCCEEDED, error
    assert (record.rows_rejected, record.rows_imported) == (1, 1)
    assert list(record.rejected_rows.values_list("line_number", "column", "message")) == [
        (2, "UnitPrice", "Quantity times unit price is too large for a line amount.")
    ]
    assert TransactionLine.unscoped.get().customer.external_id == "17851"


def test_a_unit_price_too_large_for_its_column_is_rejected_not_the_file(tmp_path, seeded):
    body = "cust,when,units,total\nc1,2011-04-03,0.001,9000000000\nc2,2011-04-03,2,10\n"
    record, error = import_or_error(
        write(tmp_path, "price.csv", body.encode()),
        mapping={
            "customer_id": "cust",
            "timestamp": "when",
            "quantity": "units",
            "amount": "total",
        },
    )
    assert record.status == ImportRecord.Status.SUCCEEDED, error
    assert list(record.rejected_rows.values_list("line_number", "column", "message")) == [
        (2, "total", "Amount divided by quantity is too large for a unit price.")
    ]
    assert lines_checksum()[0] == seeded[0] + 1
    assert TransactionLine.unscoped.get(customer__external_id="c2").unit_price == 5


def test_derived_number_limits_are_the_line_columns_limits():
    from transaction_files import normalise

    for name, limit in [
        ("amount", normalise.AMOUNT_LIMIT),
        ("unit_price", normalise.UNIT_PRICE_LIMIT),
    ]:
        field = TransactionLine._meta.get_field(name)
        assert limit == 10 ** (field.max_digits - field.decimal_places)


def test_ten_thousand_rejected_rows_in_one_file(tmp_path, seeded, settings):
    settings.IMPORT_DRY_RUN_MAX_REJECTED_SHARE = 1.0  # not the dry run's test: it would stop
    bad = ROW.replace(",6,", ",x,")
    body = HEADER + bad * 10_500 + ROW
    record, error = import_or_error(write(tmp_path, "many.csv", body.encode()))
    assert record.status == ImportRecord.Status.SUCCEEDED, error
    assert record.rows_rejected == 10_500
    assert ImportRejectedRow.unscoped.filter(import_record=record).count() == 10_000
    assert "10,500 rows were rejected; the first 10,000 are listed." in record.notices
    assert lines_checksum()[0] == seeded[0] + 1


def test_formula_cells_are_stored_as_text(tmp_path):
    header = HEADER.strip().split(",")
    row = ["536365", "X1", '=HYPERLINK("http://evil.example","click")', 1, "2010-12-01 08:26:00"]
    row += [2.5, 17850, "United Kingdom"]
    path = write(tmp_path, "formula.xlsx", xlsx_bytes({"Sheet": [header, row]}))
    record, error = import_or_error(path)
    assert record.status == ImportRecord.Status.SUCCEEDED, error
    assert TransactionLine.unscoped.get().description.startswith("=HYPERLINK(")


def test_failure_while_writing_leaves_nothing_behind(tmp_path, seeded, monkeypatch):
    from customers.importing.bulk_load import BulkLoad
    from customers.importing.staging import StagingTable

    def boom(self, *, import_id):
        raise RuntimeError("disk full")

    monkeypatch.setattr(StagingTable, "move", boom)
    monkeypatch.setattr(BulkLoad, "move", boom)
    record, error = import_or_error(ONLINE_RETAIL_SLICE)
    assert record.status == ImportRecord.Status.FAILED
    assert "unexpected error; nothing was imported" in error
    assert lines_checksum() == seeded


def test_upload_one_byte_over_the_limit(tmp_path, settings, seeded):
    data = (HEADER + ROW).encode()
    settings.IMPORT_MAX_UPLOAD_BYTES = len(data) - 1
    record, error = import_or_error(write(tmp_path, "big.csv", data))
    assert record is None
    assert f"The file is {len(data):,} bytes; the largest file accepted is" in error
    assert ImportRecord.unscoped.count() == 1  # only the seed import
    assert lines_checksum() == seeded
    assert not any("big" in f for _, _, files in os.walk(settings.MEDIA_ROOT) for f in files)
