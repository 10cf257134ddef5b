"""transaction_files, the import's reading of files moved out of Django: its whole-file reader
(what the segmentation engine's command line uses) gives the lines and counts the web import
gives, and the package loads without Django."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from customers.models import ImportRecord, TransactionLine
from transaction_files import sources
from transaction_files.errors import ImportFileError, MappingNeeded
from transaction_files.reader import read_lines

from .conftest import CDNOW_SLICE, ONLINE_RETAIL_SLICE, import_path

ROOT = Path(__file__).resolve().parents[2]
HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
ROW = "536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"


def test_the_package_loads_without_django_or_the_apps():
    code = (
        "import sys, transaction_files.reader, transaction_files.columns; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'django', 'rest_framework', 'celery', 'customers', 'reports', 'accounts', "
        "'segmentation_site', 'clustering'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def _key(customer, invoice, code, quantity, amount, ts):
    return (customer, invoice, code, round(float(quantity), 3), round(float(amount), 4), ts)


@pytest.mark.django_db
@pytest.mark.parametrize("path", [ONLINE_RETAIL_SLICE, CDNOW_SLICE], ids=["retail", "cdnow"])
def test_the_reader_gives_the_lines_and_counts_the_import_stores(path):
    record = import_path(path)
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error

    read = read_lines(path, time_zone=record.workspace.time_zone)

    assert (read.rows_read, read.rows_skipped, read.rows_rejected) == (
        record.rows_read,
        record.rows_skipped,
        record.rows_rejected,
    )
    # The import leaves out lines repeated within the file; the reader keeps them.
    assert len(read.lines) == record.rows_imported + record.rows_duplicate
    stored = {
        _key(*row): (ret, non)
        for *row, ret, non in TransactionLine.unscoped.values_list(
            "customer__external_id",
            "invoice",
            "product_code",
            "quantity",
            "amount",
            "timestamp",
            "is_return",
            "is_non_product",
        )
    }
    lines = read.lines
    got = {
        _key(c, i, p, q, a, t.to_pydatetime()): (bool(r), bool(n))
        for c, i, p, q, a, t, r, n in zip(
            lines["customer_ext"],
            lines["invoice"],
            lines["product_code"],
            lines["quantity"],
            lines["amount"],
            lines["ts"],
            lines["is_return"],
            lines["is_non_product"],
            strict=True,
        )
    }
    assert got == stored


def test_rows_of_the_wrong_width_and_bad_values_are_counted_as_the_import_counts(tmp_path):
    path = tmp_path / "bad.csv"
    rows = [ROW, ROW.replace(",6,", ",six,"), "536365,85123A,TOO,MANY,COLUMNS,1,2,3,4\n"]
    path.write_text(HEADER + "".join(rows) + ROW.replace("17850.0", ""))

    read = read_lines(path)

    assert (read.rows_read, read.rows_skipped, read.rows_rejected) == (4, 1, 2)
    assert len(read.lines) == 1
    assert [(r.line_number, r.column, r.value) for r in read.rejections] == [
        (3, "Quantity", "six"),
        (4, "", "536365,85123A,TOO,MANY,COLUMNS,1,2,3,4"),
    ]
    assert read.reasons["rejected_wrong_column_count"] == 1


def test_returns_are_told_by_their_sign_and_fees_by_their_product_code(tmp_path):
    """No invoice's first letter decides: a shop whose order numbers start with "C" (the
    Superstore's "CA-2016-152156") or whose customer ids start with "A" (CDNOW-style files
    without invoices, where the invoice is made of the customer and the day) keeps its
    purchases."""
    path = tmp_path / "shop.csv"
    path.write_text(
        "order,customer,date,product,quantity,amount\n"
        "CA-2016-152156,C100,2016-11-08,FUR-BO-10001798,2,261.96\n"  # a purchase
        "CA-2016-152157,C100,2016-11-09,FUR-BO-10001798,-1,-130.98\n"  # returned
        "US-2016-108966,A200,2016-10-11,OFF-AR-10002833,1,7.28\n"  # a purchase
        "US-2016-108967,A200,2016-10-12,OFF-AR-10002833,1,-7.28\n"  # refunded by amount
        "US-2016-108968,A200,2016-10-13,POST,1,5.00\n"  # postage
    )
    mapping = {
        "invoice": "order",
        "customer_id": "customer",
        "timestamp": "date",
        "product_code": "product",
        "quantity": "quantity",
        "amount": "amount",
    }
    lines = read_lines(path, mapping=mapping).lines
    assert lines["is_return"].tolist() == [False, True, False, True, False]
    assert lines["is_non_product"].tolist() == [False, False, False, False, True]

    no_invoices = tmp_path / "cdnow_like.csv"
    no_invoices.write_text("customer,date,amount\nA1,1998-07-02,12.50\nC2,1998-07-03,3.00\n")
    mapping = {"customer_id": "customer", "timestamp": "date", "amount": "amount"}
    lines = read_lines(no_invoices, mapping=mapping).lines
    assert lines["invoice"].tolist() == ["A1-19980702", "C2-19980703"]
    assert not lines["is_return"].any() and not lines["is_non_product"].any()


def test_latin1_found_late_is_read_again_with_a_notice(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "SAMPLE_BYTES", 4096)
    monkeypatch.setattr(sources, "CSV_BLOCK_BYTES", 4096)
    path = tmp_path / "late.csv"
    rows = ROW * 200 + ROW.replace("HEART", "CAFÉ").replace("17850.0", "17851")
    path.write_bytes((HEADER + rows).encode("latin-1"))

    read = read_lines(path)

    assert len(read.lines) == 201
    assert read.lines["description"].iloc[-1] == "WHITE HANGING CAFÉ"
    assert any("read as Windows-1252" in n for n in read.notices)


def test_mapping_problems_are_the_import_errors(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("buyer,when,paid\nb1,2011-01-02,3.5\n")

    with pytest.raises(MappingNeeded) as needed:
        read_lines(path)
    assert needed.value.columns == ["buyer", "when", "paid"]
    with pytest.raises(ImportFileError, match="Unknown field"):
        read_lines(path, mapping={"buyer_id": "buyer"})
    with pytest.raises(ImportFileError, match="no column named spent"):
        read_lines(path, mapping={"customer_id": "buyer", "timestamp": "when", "amount": "spent"})
    with pytest.raises(ImportFileError, match="Unknown date order"):
        read_lines(path, mapping={"customer_id": "buyer"}, date_order="yearfirst")

    read = read_lines(path, mapping={"customer_id": "buyer", "timestamp": "when", "amount": "paid"})
    assert read.lines[["customer_ext", "amount"]].values.tolist() == [["b1", 3.5]]


def test_dates_written_with_dots_are_day_first_when_no_date_tells(tmp_path):
    """ "05.12.2026" is day-first wherever dates are written with dots (Germany to Russia):
    asking the shop which order they meant, as for "05/12/2026", only held up its import."""
    rows = "A1;05.12.2024 14:30;12,50\nA2;06.11.2024;3\n"
    dotted = tmp_path / "dotted.csv"
    dotted.write_text("CustomerID;InvoiceDate;Amount\n" + rows, encoding="utf-8")
    lines = read_lines(dotted)
    assert lines.date_order == "dayfirst"
    assert [str(t) for t in lines.lines["ts"]] == [
        "2024-12-05 14:30:00+00:00",
        "2024-11-06 00:00:00+00:00",
    ]
    # a date that can only be month-first still decides; slashes beside dots still ask
    month_first = tmp_path / "month_first.csv"
    month_first.write_text(
        "CustomerID;InvoiceDate;Amount\n" + rows + "A3;11.13.2024;1\n", encoding="utf-8"
    )
    assert read_lines(month_first).date_order == "monthfirst"
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("CustomerID;InvoiceDate;Amount\n" + rows + "A3;11/10/2024;1\n", "utf-8")
    with pytest.raises(ImportFileError, match="ambiguous"):
        read_lines(mixed)
