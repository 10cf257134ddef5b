"""The line hash's definition, and PostgreSQL's bulk load of the first lines into an empty
line table (indexes dropped, lines inserted, indexes rebuilt, all in the import's
transaction). The bulk-load tests need PostgreSQL (CI runs them; skipped on SQLite)."""

from __future__ import annotations

import hashlib
import logging
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import psycopg2
import pytest
from django.conf import settings
from django.db import IntegrityError, connection, transaction

from customers.importing import normalise, staging
from customers.models import ImportRecord, TransactionLine
from tests.conftest import require

from .conftest import CDNOW_SLICE, ONLINE_RETAIL_SLICE, import_path, lines_checksum


def test_line_hash_is_md5_of_the_documented_content():
    lines = pd.DataFrame(
        {
            "customer_ext": ["12345", "17850"],
            "invoice": ["536365", "C536379"],
            "product_code": ["85123A", ""],
            "description": ["WHITE HANGING £ HEART", "Discount"],
            "quantity": [6.0, -1.0],
            "unit_price": [2.55, np.nan],
            "amount": [round(6 * 2.55, 4), -27.5],
            "ts": pd.to_datetime(["2010-12-01 08:26:00", "2011-07-01 09:41:00"]).tz_localize(
                "Europe/London"
            ),
            "country": ["United Kingdom", "France"],
        }
    )
    expected = [
        "12345\x1f536365\x1f85123A\x1fWHITE HANGING £ HEART\x1f6\x1f2.55\x1f15.3"
        "\x1f1291191960\x1fUnited Kingdom",
        # Summer time: 09:41 in London is 08:41 UTC; a missing unit price hashes as "".
        "17850\x1fC536379\x1f\x1fDiscount\x1f-1\x1f\x1f-27.5\x1f1309509660\x1fFrance",
    ]
    assert list(normalise.line_hashes(lines)) == [
        hashlib.md5(text.encode(), usedforsecurity=False).hexdigest() for text in expected
    ]


@pytest.fixture
def postgres(db):
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")


def line_table_indexes() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1",
            [TransactionLine._meta.db_table],
        )
        return cursor.fetchall()


def test_first_import_is_bulk_loaded_and_keeps_the_indexes(postgres, monkeypatch, caplog, tmp_path):
    monkeypatch.setattr(staging, "BULK_LOAD_MIN_LINES", 1)
    before = line_table_indexes()
    assert [name for name, _ in before] == ["customers_transactionline_pkey", "line_unique_content"]
    caplog.set_level(logging.INFO, logger="customers.importing.staging")

    first = import_path(ONLINE_RETAIL_SLICE)

    assert first.status == ImportRecord.Status.SUCCEEDED, first.error_message
    assert "bulk load into the empty line table" in caplog.text
    assert line_table_indexes() == before
    assert TransactionLine.objects.count() == first.rows_imported
    assert first.rows_imported and first.counts_by_reason["duplicate_in_file"]
    # The rebuilt unique index refuses a stored line again.
    line = TransactionLine.objects.first()
    line.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        line.save()

    # The table is no longer empty: the next import keeps the indexes up to date instead,
    # and the lines the first one stored are found there.
    caplog.clear()
    other_bytes = tmp_path / "slice-with-a-blank-line.csv"
    other_bytes.write_bytes(ONLINE_RETAIL_SLICE.read_bytes() + b"\n")
    again = import_path(other_bytes)
    assert again.status == ImportRecord.Status.SUCCEEDED, again.error_message
    assert "bulk load" not in caplog.text
    assert again.rows_imported == 0
    assert TransactionLine.objects.count() == first.rows_imported


def test_bulk_load_gives_the_same_lines_as_the_row_by_row_path(postgres, monkeypatch):
    monkeypatch.setattr(staging, "BULK_LOAD_MIN_LINES", 1)
    bulk = import_path(ONLINE_RETAIL_SLICE)
    bulk_lines = lines_checksum()
    bulk_counts = (bulk.rows_imported, bulk.rows_duplicate, bulk.counts_by_reason)
    TransactionLine.objects.all().delete()
    ImportRecord.objects.all().delete()

    monkeypatch.setattr(staging, "BULK_LOAD_MIN_LINES", 10**9)
    plain = import_path(ONLINE_RETAIL_SLICE)
    assert lines_checksum() == bulk_lines
    assert (plain.rows_imported, plain.rows_duplicate, plain.counts_by_reason) == bulk_counts


def test_bulk_load_that_fails_leaves_no_lines_and_every_index(postgres, monkeypatch):
    monkeypatch.setattr(staging, "BULK_LOAD_MIN_LINES", 1)
    # Fails after the indexes were dropped and the lines inserted, before they are rebuilt.
    monkeypatch.setattr(staging, "INDEX_BUILD_MEM", "not a size")
    before = line_table_indexes()

    record = import_path(CDNOW_SLICE)

    assert record.status == ImportRecord.Status.FAILED
    assert "nothing was imported" in record.error_message
    assert TransactionLine.objects.count() == 0
    assert line_table_indexes() == before


@pytest.mark.django_db
@pytest.mark.parametrize("bulk_load_min_lines", [1, 10**9])
def test_times_are_stored_exactly_across_clock_changes(tmp_path, monkeypatch, bulk_load_min_lines):
    monkeypatch.setattr(staging, "BULK_LOAD_MIN_LINES", bulk_load_min_lines)
    header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    local_times = ["2010-12-01 08:26:00", "2011-03-27 00:59:59", "2011-03-27 02:30:00"]
    local_times += ["2011-10-30 01:15:01", "1969-07-20 20:17:40"]
    rows = [f"{i},A,a,1,{t},1.5,100{i},UK\n" for i, t in enumerate(local_times)]
    path = tmp_path / "times.csv"
    path.write_text(header + "".join(rows))

    record = import_path(path)

    assert record.status == ImportRecord.Status.SUCCEEDED, record.error_message
    zone = ZoneInfo(settings.TIME_ZONE)
    stored = dict(TransactionLine.objects.values_list("invoice", "timestamp"))
    for i, text in enumerate(local_times):
        expected = pd.Timestamp(text).tz_localize(
            zone, ambiguous=False, nonexistent="shift_forward"
        )
        # In UTC: Python never finds a repeated-hour local time equal to another zone's.
        assert stored[str(i)] == expected.tz_convert("UTC").to_pydatetime(), text


def test_bulk_load_keeps_an_index_that_a_foreign_key_references(postgres, monkeypatch):
    monkeypatch.setattr(staging, "BULK_LOAD_MIN_LINES", 1)
    line_table = TransactionLine._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE line_note (line_id bigint REFERENCES {line_table} (id))")
    before = line_table_indexes()

    record = import_path(CDNOW_SLICE)

    assert record.status == ImportRecord.Status.SUCCEEDED, record.error_message
    assert line_table_indexes() == before
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'line_note'::regclass "
            "AND contype = 'f'"
        )
        assert cursor.fetchone()[0] == 1


def test_a_reader_in_a_long_transaction_means_no_bulk_load(postgres, monkeypatch, caplog):
    monkeypatch.setattr(staging, "BULK_LOAD_MIN_LINES", 1)
    monkeypatch.setattr(staging, "BULK_LOAD_LOCK_TIMEOUT", "200ms")
    caplog.set_level(logging.INFO, logger="customers.importing.staging")
    settings_dict = connection.settings_dict
    reader = psycopg2.connect(
        dbname=settings_dict["NAME"],
        user=settings_dict["USER"],
        password=settings_dict["PASSWORD"],
        host=settings_dict["HOST"],
        port=settings_dict["PORT"] or 5432,
    )
    try:
        with reader.cursor() as cursor:  # a transaction left open, holding ACCESS SHARE
            cursor.execute(f"SELECT count(*) FROM {TransactionLine._meta.db_table}")  # noqa: S608

        record = import_path(ONLINE_RETAIL_SLICE)

        assert record.status == ImportRecord.Status.SUCCEEDED, record.error_message
        assert "the line table is in use; not bulk loading" in caplog.text
        assert TransactionLine.objects.count() == record.rows_imported > 0
        with connection.cursor() as cursor:  # the short timeout did not outlive the check
            cursor.execute("SHOW lock_timeout")
            assert cursor.fetchone()[0] == "0"
    finally:
        reader.close()
