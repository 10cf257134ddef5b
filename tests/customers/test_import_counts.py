"""Counts by category on real data, checked against plain pandas."""

import importlib
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from customers.models import Customer, ImportRecord, TransactionLine
from tests import shops
from tests.conftest import require

from .conftest import CDNOW_SLICE, ONLINE_RETAIL_SLICE, SAMPLE_DATA, import_path

pytestmark = pytest.mark.django_db

NON_PRODUCT = {"POST", "DOT", "M", "C2", "D", "S", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS", "B"}


def expected_online_retail(path) -> dict:
    d = pd.read_csv(path, dtype=str, keep_default_na=False)
    with_id = d[d["CustomerID"].str.strip() != ""]
    unique = with_id.drop_duplicates()
    code = unique["StockCode"].str.upper()
    quantity = unique["Quantity"].astype(float)
    return {
        "read": len(d),
        "skipped": len(d) - len(with_id),
        "duplicates": len(with_id) - len(unique),
        "imported": len(unique),
        "customers": with_id["CustomerID"].str.replace(r"\.0$", "", regex=True).nunique(),
        "returns": int((unique["InvoiceNo"].str.startswith("C") | (quantity < 0)).sum()),
        "non_product": int(
            (
                code.isin(NON_PRODUCT)
                | code.str.startswith(("GIFT_0001", "DCGS"))
                | unique["InvoiceNo"].str.startswith("A")
            ).sum()
        ),
        "amount": round((quantity * unique["UnitPrice"].astype(float)).sum(), 2),
        "largest": with_id["CustomerID"].str.replace(r"\.0$", "", regex=True).value_counts(),
        "pound_rows": int(unique["Description"].str.contains("£").sum()),
        "pound_rows_in_file": int(d["Description"].str.contains("£").sum()),
    }


def test_online_retail_slice_counts_match_pandas():
    expected = expected_online_retail(ONLINE_RETAIL_SLICE)
    assert expected["skipped"] and expected["duplicates"] and expected["returns"]
    assert expected["non_product"] and expected["pound_rows_in_file"]

    record = import_path(ONLINE_RETAIL_SLICE)

    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert record.rows_read == expected["read"]
    assert record.rows_skipped == expected["skipped"]
    assert record.rows_duplicate == expected["duplicates"]
    assert record.rows_imported == expected["imported"]
    assert record.rows_rejected == 0
    assert record.counts_by_reason == {
        "skipped_no_customer_id": expected["skipped"],
        "duplicate_in_file": expected["duplicates"],
        "imported_returns": expected["returns"],
        "imported_non_product": expected["non_product"],
    }
    assert Customer.unscoped.count() == expected["customers"] == record.customers_created
    lines = TransactionLine.unscoped.all()
    assert lines.count() == expected["imported"]
    assert lines.filter(is_return=True).count() == expected["returns"]
    assert lines.filter(is_non_product=True).count() == expected["non_product"]
    assert lines.filter(description__contains="£").count() == expected["pound_rows"]
    total = sum(lines.values_list("amount", flat=True), Decimal(0))
    assert round(float(total), 2) == expected["amount"]
    assert not Customer.unscoped.filter(external_id__endswith=".0").exists()
    assert Customer.unscoped.filter(external_id="17850").exists()
    # Its largest customer, by rows, is no fifth of them: nothing to warn of.
    largest = expected["largest"]
    assert record.summary["largest_customer"] == {
        "id": largest.index[0],
        "rows": int(largest.iloc[0]),
        "of_rows": int(largest.sum()),
    }
    assert largest.iloc[0] > largest.iloc[1]
    assert [w for w in record.warnings if "no customer id" not in w] == []


def test_reimporting_the_same_file_changes_nothing():
    first = import_path(ONLINE_RETAIL_SLICE)
    before = TransactionLine.unscoped.count()

    again = import_path(ONLINE_RETAIL_SLICE)

    assert again.status == ImportRecord.Status.SUCCEEDED
    assert again.rows_imported == 0
    assert TransactionLine.unscoped.count() == before
    assert again.customers_created == 0
    assert any(f"already imported (import #{first.pk})" in n for n in again.notices)
    assert again.counts_by_reason["already_imported"] == first.rows_imported


def overlapping_files(tmp_path) -> tuple:
    """The slice as two files that share 500 rows: (the first 1,500 rows, the rest from 1,000)."""
    lines = ONLINE_RETAIL_SLICE.read_text(encoding="utf-8").splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(header + "".join(rows[:1500]), encoding="utf-8")
    second.write_text(header + "".join(rows[1000:]), encoding="utf-8")
    return first, second


def test_overlapping_files_do_not_double_count(tmp_path):
    first, second = overlapping_files(tmp_path)

    import_path(first)
    import_path(second)

    whole = expected_online_retail(ONLINE_RETAIL_SLICE)
    assert TransactionLine.unscoped.count() == whole["imported"]
    assert Customer.unscoped.count() == whole["customers"]


def test_cdnow_slice_through_the_same_service():
    d = pd.read_csv(CDNOW_SLICE, dtype=str)

    record = import_path(CDNOW_SLICE)

    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert record.rows_read == len(d)
    # no order column: a line repeated exactly is another purchase (CDNOW has such days)
    assert record.rows_duplicate == 0
    assert record.rows_imported == len(d)
    assert Customer.unscoped.count() == d["customer_id"].nunique()
    assert Customer.unscoped.filter(external_id="00001").exists()  # zeros kept
    # One synthesised invoice per customer-day: frequency counts purchase occasions.
    invoices = TransactionLine.unscoped.values("invoice").distinct().count()
    assert invoices == len(d.drop_duplicates(["customer_id", "date"]))
    line = TransactionLine.unscoped.filter(customer__external_id="00001").first()
    assert line.invoice == "00001-19970101"
    assert line.unit_price == line.amount / line.quantity


@pytest.mark.slow
def test_full_online_retail_file():
    record = import_path(SAMPLE_DATA / "online_retail" / "online_retail.csv.gz")

    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert record.rows_read == 541_909
    assert record.rows_skipped == 135_080
    assert Customer.unscoped.count() == 4_372
    assert record.rows_duplicate == 5_225  # 5,268 exact duplicates, 5,225 with a customer id
    assert record.rows_imported == 541_909 - 135_080 - 5_225
    assert record.counts_by_reason["imported_returns"] == 8_872
    assert record.rows_rejected == 0


@pytest.mark.slow
def test_full_cdnow_file():
    record = import_path(SAMPLE_DATA / "cdnow" / "cdnow_master.csv.gz")

    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert record.rows_read == 69_659
    assert record.rows_duplicate == 0  # its 255 exact repeats are purchases: it has no orders
    assert record.rows_imported == 69_659
    assert Customer.unscoped.count() == 23_570


def test_same_file_again_is_not_read_but_keeps_its_rejected_rows(tmp_path):
    header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    row = "536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
    path = tmp_path / "shop.csv"
    path.write_text(header + row + row.replace(",6,", ",six,") + row.replace("HEART", "STAR"))
    first = import_path(path)

    again = import_path(path)

    assert (again.rows_read, again.rows_rejected, again.rows_imported) == (3, 1, 0)
    assert again.rows_duplicate == first.rows_duplicate + first.rows_imported == 2
    assert again.counts_by_reason == {"already_imported": 2, "rejected_bad_number": 1}
    assert list(again.rejected_rows.values_list("line_number", "column", "value")) == [
        (3, "Quantity", "six")
    ]
    assert any("not read again" in n for n in again.notices)
    assert TransactionLine.unscoped.count() == 2


def test_same_file_after_a_customer_was_deleted_stores_its_lines_again():
    first = import_path(ONLINE_RETAIL_SLICE)
    customer = Customer.unscoped.get(external_id="17850")
    deleted = customer.lines.count()
    assert deleted
    customer.delete()

    again = import_path(ONLINE_RETAIL_SLICE)

    assert again.rows_imported == deleted
    assert again.customers_created == 1
    assert TransactionLine.unscoped.count() == first.rows_imported
    assert not any("not read again" in n for n in again.notices)


def test_first_and_last_purchase_count_purchases_only(tmp_path, client_for):
    header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    first_file = tmp_path / "first.csv"
    first_file.write_text(
        header
        + "536365,85123A,HEART,6,2011-01-05 10:00:00,2.55,100,United Kingdom\n"
        + "C536379,85123A,HEART,-1,2011-02-01 10:00:00,2.55,100,France\n"
        + "536400,POST,POSTAGE,1,2011-03-01 10:00:00,18.00,100,Germany\n"
        + "C536500,22633,WARMER,-2,2011-01-10 09:00:00,1.85,200,United Kingdom\n"
    )
    second_file = tmp_path / "second.csv"
    second_file.write_text(
        header
        + "535000,22633,WARMER,2,2010-12-01 09:00:00,1.85,100,Spain\n"
        + "537000,22633,WARMER,2,2011-01-20 09:00:00,1.85,100,Spain\n"
    )
    zone = ZoneInfo(shops.test_shop().time_zone)  # the import reads the shop's local times

    def at(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=zone)

    assert import_path(first_file).status == ImportRecord.Status.SUCCEEDED
    buyer, returner = (
        Customer.unscoped.get(external_id="100"),
        Customer.unscoped.get(external_id="200"),
    )
    # A return and a postage line come later, but the last purchase is the purchase.
    assert buyer.first_purchase_at == buyer.last_purchase_at == at("2011-01-05 10:00")
    assert buyer.last_seen_at == at("2011-03-01 10:00")
    assert buyer.country == "Germany"  # of the latest line
    assert returner.first_purchase_at is None and returner.last_purchase_at is None
    assert returner.last_seen_at == at("2011-01-10 09:00")

    assert import_path(second_file).status == ImportRecord.Status.SUCCEEDED
    buyer.refresh_from_db()
    assert buyer.first_purchase_at == at("2010-12-01 09:00")  # earlier, from the new file
    assert buyer.last_purchase_at == at("2011-01-20 09:00")
    assert buyer.last_seen_at == at("2011-03-01 10:00")  # unchanged
    assert buyer.country == "Germany"  # the new file's lines are not the latest

    page = client_for("marketing").get("/customers/lookup/", {"customer_id": "100"})
    assert "last purchase 20 Jan 2011 · last seen 1 Mar 2011" in page.content.decode()
    api = client_for("manager").get("/api/v1/customers/100/").json()
    assert api["last_purchase_at"] == "2011-01-20T09:00:00Z"
    assert api["last_seen_at"] == "2011-03-01T10:00:00Z"

    # The migration that introduced these rules recomputes the same from the lines.
    migration = importlib.import_module("customers.migrations.0005_purchases_only_and_last_seen")
    expected = list(
        Customer.unscoped.values_list("first_purchase_at", "last_purchase_at", "last_seen_at")
    )
    Customer.unscoped.update(first_purchase_at=None, last_purchase_at=None, last_seen_at=None)
    # The models as migrations see them (plain managers, as in a real migration).
    migrated = MigrationLoader(connection).project_state().apps
    migration.recompute(migrated, None)
    assert (
        list(Customer.unscoped.values_list("first_purchase_at", "last_purchase_at", "last_seen_at"))
        == expected
    )


def _overlapping_import(tmp_path, monkeypatch, share: float) -> tuple[int, ImportRecord, list]:
    """Half of the slice, then an overlapping file staged with PROBE_SHARE at `share`: (the
    first import's lines, the second import, the probe choice of each insert)."""
    from customers.importing import staging

    first, second = overlapping_files(tmp_path)
    stored_first = import_path(first).rows_imported
    chosen = []
    build = staging.insert_lines_sql
    monkeypatch.setattr(
        staging, "insert_lines_sql", lambda **kw: chosen.append(kw.get("probe")) or build(**kw)
    )
    monkeypatch.setattr(staging, "PROBE_SHARE", share)
    return stored_first, import_path(second), chosen


@pytest.mark.parametrize("looked_up", [True, False])
def test_an_overlapping_file_stores_its_new_lines_once_looked_up_or_hashed(
    tmp_path, monkeypatch, looked_up
):
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    stored_first, second, chosen = _overlapping_import(
        tmp_path, monkeypatch, 1e9 if looked_up else 0.0
    )

    assert chosen == [looked_up]  # each line looked up in the key, or the planner's anti join
    whole = expected_online_retail(ONLINE_RETAIL_SLICE)
    assert TransactionLine.unscoped.count() == whole["imported"]
    assert second.rows_imported == whole["imported"] - stored_first
    assert second.counts_by_reason["already_imported"] > 0


def test_a_file_small_beside_the_stored_lines_is_looked_up_line_by_line():
    from customers.importing.staging import PROBE_SHARE, StagingTable

    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    import_path(ONLINE_RETAIL_SLICE)  # a bulk load: the line table is analysed after it
    table = StagingTable(0, workspace_id=shops.test_shop().pk)
    with connection.cursor() as cursor:
        # the rule reads the planner's estimate, which a large table only approximates
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = %s::regclass",
            [TransactionLine._meta.db_table],
        )
        stored = cursor.fetchone()[0]
        assert stored == pytest.approx(TransactionLine.unscoped.count(), rel=0.1)
        table.rows = int(stored * PROBE_SHARE) - 1
        assert table._probe_each_line(cursor)
        table.rows = int(stored * PROBE_SHARE) + 1
        assert not table._probe_each_line(cursor)
    table.drop()


def _hot_and_all_updates(cursor) -> tuple[int, int]:
    """The customer table's row updates in this transaction: (in place, all)."""
    cursor.execute(
        "SELECT pg_stat_get_xact_tuples_hot_updated(%s::regclass),"
        " pg_stat_get_xact_tuples_updated(%s::regclass)",
        [Customer._meta.db_table] * 2,
    )
    return cursor.fetchone()


def test_a_later_file_updates_its_customers_in_place(tmp_path):
    """The customer table leaves room in its pages (migration 0015): a later file's new
    versions of a sixth of the customers fit beside the old ones, so PostgreSQL writes them
    without index entries (HOT). Full pages would have sent each to another page."""
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    first, later = tmp_path / "first.csv", tmp_path / "later.csv"
    first.write_text(
        header
        + "".join(
            f"5{n:05d},85123A,HEART,1,2011-01-03 10:00:00,2.55,{10000 + n},United Kingdom\n"
            for n in range(1200)
        )
    )
    again = range(0, 1200, 6)
    later.write_text(
        header
        + "".join(
            f"6{n:05d},85123A,HEART,1,2011-02-07 10:00:00,2.55,{10000 + n},United Kingdom\n"
            for n in again
        )
    )
    assert import_path(first).rows_imported == 1200
    with connection.cursor() as cursor:
        hot_before, all_before = _hot_and_all_updates(cursor)
        assert import_path(later).rows_imported == len(again)
        hot_after, all_after = _hot_and_all_updates(cursor)
    assert all_after - all_before == len(again)
    assert hot_after - hot_before == len(again)


def _key_lookups(cursor) -> int:
    """Scans of the line table's primary key in this transaction."""
    cursor.execute(
        "SELECT pg_stat_get_xact_numscans(%s::regclass)",
        [f"{TransactionLine._meta.db_table}_pkey"],
    )
    return cursor.fetchone()[0]


def _shop_file(path, rows: list[tuple[str, str, str]]):
    """A file of one-line invoices: (invoice, time, customer id) each."""
    header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    path.write_text(
        header
        + "".join(
            f"{inv},85123A,HEART,1,{at},2.55,{cust},United Kingdom\n" for inv, at, cust in rows
        )
    )
    return path


def test_a_later_file_looks_up_only_the_lines_dated_within_the_stored_ones(tmp_path, monkeypatch):
    """Lines dated after every stored line cannot be stored already (the time is part of the
    key): only the ones dated within the stored period are looked up in the primary key."""
    from customers.importing import staging

    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    monkeypatch.setattr(staging, "PROBE_SHARE", 1e9)  # look lines up, whatever the sizes
    first = [(f"1{n:04d}", "2011-01-03 10:00:00", 20000 + n) for n in range(300)]
    assert import_path(_shop_file(tmp_path / "first.csv", first)).rows_imported == 300
    within = first[:20] + [(f"2{n:04d}", "2011-01-02 09:00:00", 20000 + n) for n in range(15)]
    after = [(f"3{n:04d}", "2011-02-07 10:00:00", 20000 + n) for n in range(0, 300, 2)]
    later = _shop_file(tmp_path / "later.csv", within + after)
    with connection.cursor() as cursor:
        before = _key_lookups(cursor)
        record = import_path(later)
        looked_up = _key_lookups(cursor) - before
    assert record.rows_imported == 15 + len(after)
    assert record.counts_by_reason["already_imported"] == 20
    # Each line dated within is looked up; without the bound every one of the 185 would be.
    # (Another statement of the import may scan the key once, as the planner sees fit.)
    assert len(within) <= looked_up <= len(within) + 3


def test_a_bound_that_missed_a_stored_line_still_stores_no_line_twice(tmp_path, monkeypatch):
    """The bound comes from the customers' last-seen times; were one behind its lines (a row
    edited by hand), the primary key refuses the copy and the import goes on without it."""
    from customers.importing import staging

    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    monkeypatch.setattr(staging, "PROBE_SHARE", 1e9)
    rows = [(f"1{n:04d}", "2011-01-03 10:00:00", 20000 + n) for n in range(50)]
    path = _shop_file(tmp_path / "shop.csv", rows)
    assert import_path(path).rows_imported == 50
    Customer.unscoped.update(last_seen_at=datetime(2000, 1, 1, tzinfo=ZoneInfo("UTC")))
    again = _shop_file(tmp_path / "again.csv", rows + [("19999", "2011-01-04 10:00:00", 20000)])
    record = import_path(again)
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert record.rows_imported == 1
    assert record.counts_by_reason["already_imported"] == 50
    assert TransactionLine.unscoped.count() == 51


@pytest.mark.parametrize("bulk_load", [True, False])
def test_a_line_repeated_in_a_file_without_orders_is_another_purchase(
    tmp_path, settings, monkeypatch, bulk_load
):
    from transaction_files import sources

    settings.IMPORT_BULK_LOAD_EMPTY_TABLE = bulk_load
    monkeypatch.setattr(sources, "CSV_BLOCK_BYTES", 64)  # repeats in several chunks
    header = "customer_id,date,number_of_cds,dollar_value\n"
    # CDNOW's customer 00499 bought these four CDs on 1 October 1997, one line each
    rows = ["00499,19971001,1,11.49\n"] * 3 + ["00499,19971001,1,15.49\n"] * 2
    rows += [f"0050{i},19971002,2,20.00\n" for i in range(20)]
    first = tmp_path / "cdnow.csv"
    first.write_text(header + "".join(rows))

    record = import_path(first)

    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert (record.rows_imported, record.rows_duplicate) == (25, 0)
    spent = TransactionLine.unscoped.filter(customer__external_id="00499")
    assert (
        sorted(spent.values_list("amount", flat=True))
        == [Decimal("11.49")] * 3 + [Decimal("15.49")] * 2
    )

    # The same lines again in a later file, and one new: only the new one is stored.
    later = tmp_path / "cdnow-later.csv"
    later.write_text(header + "".join(rows) + "00499,19971003,1,9.99\n")
    record = import_path(later)

    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert (record.rows_imported, record.rows_duplicate) == (1, 25)
    assert spent.count() == 6


def test_a_line_repeated_in_a_file_with_orders_is_a_copy(tmp_path):
    header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    line = "536365,85123A,HEART,6,2010-12-01 08:26,2.55,17850,UK\n"
    path = tmp_path / "orders.csv"
    path.write_text(header + line * 2 + line.replace("536365", "") * 2)

    record = import_path(path)

    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    # the order's line twice is one line; a line naming no order, twice, is two purchases
    assert (record.rows_imported, record.rows_duplicate) == (3, 1)
    assert record.counts_by_reason["duplicate_in_file"] == 1
