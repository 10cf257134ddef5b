"""Honest import outcomes: a dry run that stops a wrong mapping before anything is written,
no "Succeeded" for an import that stored nothing, "Succeeded with warnings" for one that
left rows out, and the summary of what was stored."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pytest
from django.urls import reverse
from django.utils.html import escape

from accounts.roles import ROLE_PERMISSIONS
from customers.importing.outcomes import stored_figures
from customers.models import Customer, ImportRecord, ImportRejectedRow, TransactionLine

from .conftest import CDNOW_SLICE, ONLINE_RETAIL_SLICE, import_path
from .test_import_counts import NON_PRODUCT

pytestmark = pytest.mark.django_db

MAPPING = {
    "customer_id": "CustomerID",
    "invoice": "InvoiceNo",
    "quantity": "Quantity",
    "unit_price": "UnitPrice",
    "product_code": "StockCode",
    "description": "Description",
    "country": "Country",
}


def slice_frame() -> pd.DataFrame:
    return pd.read_csv(ONLINE_RETAIL_SLICE, dtype=str, keep_default_na=False)


def with_week_numbers(tmp_path) -> tuple[object, pd.DataFrame]:
    """The slice with a week-number column, the column a user maps the date to by mistake."""
    d = slice_frame()
    d["week_no"] = [str(1 + i % 52) for i in range(len(d))]
    path = tmp_path / "weeks.csv"
    d.to_csv(path, index=False)
    return path, d


def has_customer(d: pd.DataFrame) -> pd.Series:
    return d["CustomerID"].str.strip() != ""


def nothing_stored(workspace) -> bool:
    return (
        not TransactionLine.objects.in_workspace(workspace).exists()
        and not Customer.objects.in_workspace(workspace).exists()
    )


@pytest.mark.parametrize("bulk_load", [True, False])
def test_a_mapping_that_rejects_most_rows_stops_before_writing(
    tmp_path, shop, client_for, settings, bulk_load
):
    settings.IMPORT_BULK_LOAD_EMPTY_TABLE = bulk_load
    path, d = with_week_numbers(tmp_path)
    rejected = int(has_customer(d).sum())  # rows without a customer id are skipped, not judged
    assert rejected / len(d) > settings.IMPORT_DRY_RUN_MAX_REJECTED_SHARE

    record = import_path(path, mapping={**MAPPING, "timestamp": "week_no"})

    assert record.status == ImportRecord.Status.FAILED
    assert record.error.startswith(
        f"{rejected:,} of the first {len(d):,} rows were rejected, most for an unreadable "
        "date in column 'week_no': check the column mapping."
    )
    assert nothing_stored(shop)
    assert record.rows_imported == 0 and record.rows_rejected == rejected
    kept = ImportRejectedRow.objects.in_workspace(shop).filter(import_record=record)
    assert kept.count() == rejected
    assert record.summary["rejected"][0]["column"] == "week_no"

    page = client_for("manager").get(record.get_absolute_url()).content.decode()
    assert escape(record.error) in page
    assert "week_no" in page and "Not a date this tool can read" in page
    first = kept.order_by("line_number").first()
    assert f"line {first.line_number:,}:" in page
    assert "Start a segmentation" not in page


def test_the_dry_run_judges_only_the_first_rows(tmp_path, shop, settings):
    """Bad rows past the first IMPORT_DRY_RUN_ROWS do not stop the import; bad rows within
    them do."""
    d = slice_frame()
    d = d[has_customer(d)].reset_index(drop=True)
    bad = d.copy()
    bad["Quantity"] = "lots"
    settings.IMPORT_DRY_RUN_ROWS = 100

    late = pd.concat([d.iloc[:200], bad.iloc[200:]])
    late.to_csv(tmp_path / "late.csv", index=False)
    record = import_path(tmp_path / "late.csv")
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert record.rows_rejected == len(d) - 200 and record.rows_imported > 0

    early = pd.concat([bad.iloc[:80], d.iloc[80:]])
    early.to_csv(tmp_path / "early.csv", index=False)
    record = import_path(tmp_path / "early.csv")
    assert record.status == ImportRecord.Status.FAILED
    assert record.error.startswith(
        "80 of the first 100 rows were rejected, most for an unreadable number in column 'Quantity'"
    )


def test_a_file_with_no_storable_row_fails(tmp_path, shop, settings):
    d = slice_frame()
    d["CustomerID"] = ""
    d.to_csv(tmp_path / "guests.csv", index=False)

    record = import_path(tmp_path / "guests.csv")

    assert record.status == ImportRecord.Status.FAILED
    assert record.error.startswith(
        f"None of the {len(d):,} rows could be stored: {len(d):,} had no customer id."
    )
    assert nothing_stored(shop)


def test_every_row_rejected_fails_even_when_the_dry_run_lets_it_through(tmp_path, shop, settings):
    settings.IMPORT_DRY_RUN_MAX_REJECTED_SHARE = 1.0
    path, d = with_week_numbers(tmp_path)

    record = import_path(path, mapping={**MAPPING, "timestamp": "week_no"})

    assert record.status == ImportRecord.Status.FAILED
    rejected = int(has_customer(d).sum())
    assert f"{rejected:,} were rejected, most for an unreadable date in column 'week_no'" in (
        record.error
    )
    assert nothing_stored(shop)
    assert ImportRejectedRow.objects.in_workspace(shop).filter(import_record=record).exists()


def test_partial_rejections_succeed_with_warnings(tmp_path, shop, client_for):
    d = slice_frame()
    d.loc[[3, 10, 20], "Quantity"] = "many"
    d.to_csv(tmp_path / "some_bad.csv", index=False)
    skipped = int((~has_customer(d)).sum())
    rejected = int((has_customer(d) & (d["Quantity"] == "many")).sum())
    assert skipped and rejected

    record = import_path(tmp_path / "some_bad.csv")

    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert record.status_label == "Succeeded with warnings"
    assert record.warnings == [
        f"{rejected:,} of {len(d):,} rows were rejected and not stored: see the rejected rows "
        "for why.",
        f"{skipped:,} of {len(d):,} rows were skipped: they have no customer id.",
    ]
    client = client_for("manager")
    page = client.get(record.get_absolute_url()).content.decode()
    assert "Succeeded with warnings" in page
    for warning in record.warnings:
        assert escape(warning) in page
    listed = client.get(reverse("customers:import-list")).content.decode()
    assert "Succeeded with warnings" in listed
    status = client.get(reverse("customers:import-status", args=[record.pk])).json()
    assert status["status"] == "succeeded" and status["status_display"] == "Succeeded with warnings"

    data = client.get(reverse("api-import-detail", args=[record.pk])).json()
    assert data["status"] == "succeeded"
    assert data["warnings"] == record.warnings


def test_a_clean_import_has_no_warnings(client_for, shop):
    record = import_path(CDNOW_SLICE)
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert (record.rows_rejected, record.rows_skipped) == (0, 0)
    assert record.warnings == [] and record.status_label == "Succeeded"
    data = client_for("manager").get(reverse("api-import-detail", args=[record.pk])).json()
    assert data["warnings"] == []


def expected_summary(d: pd.DataFrame) -> dict:
    """The figures of the slice's stored lines, by the import's rules: rows with a customer
    id, each distinct line once; revenue from purchases (not returns, not postage or fees)."""
    lines = d[has_customer(d)].drop_duplicates()
    quantity = lines["Quantity"].astype(float)
    code = lines["StockCode"].str.upper()
    is_return = lines["InvoiceNo"].str.startswith("C") | (quantity < 0)
    non_product = (
        code.isin(NON_PRODUCT)
        | code.str.startswith(("GIFT_0001", "DCGS"))
        | lines["InvoiceNo"].str.startswith("A")
    )
    purchases = lines[~is_return & ~non_product]
    revenue = sum(
        (
            (Decimal(q) * Decimal(p)).quantize(Decimal("0.0001"), ROUND_HALF_UP)
            for q, p in zip(purchases["Quantity"], purchases["UnitPrice"], strict=True)
        ),
        Decimal(0),
    )
    days = pd.to_datetime(lines["InvoiceDate"]).dt.date
    return {
        "first_date": days.min().isoformat(),
        "last_date": days.max().isoformat(),
        "customers": lines["CustomerID"].str.replace(r"\.0$", "", regex=True).nunique(),
        "orders": lines["InvoiceNo"].nunique(),
        "revenue": f"{revenue:.2f}",
    }


def test_the_summary_figures_match_pandas(client_for, shop):
    expected = expected_summary(slice_frame())

    record = import_path(ONLINE_RETAIL_SLICE)

    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert {k: record.summary[k] for k in expected} == expected
    page = client_for("manager").get(record.get_absolute_url()).content.decode()
    first, last = record.period
    assert f"{first:%-d %b %Y} to {last:%-d %b %Y}" in page
    assert f"{shop.currency_symbol}{Decimal(expected['revenue']):,.2f}" in page
    assert f"{expected['customers']:,}" in page and f"{expected['orders']:,}" in page
    data = client_for("admin").get(reverse("api-import-detail", args=[record.pk])).json()
    assert data["summary"]["revenue"] == expected["revenue"] and data["currency"] == "GBP"


@pytest.mark.parametrize("bulk_load", [True, False])
def test_the_summary_counted_while_storing_is_the_one_read_back(
    tmp_path, shop, settings, bulk_load
):
    """The figures the import counts as it stores (the bulk load per chunk, the staged
    insert from its inserted rows) are those of the stored lines read back, for a first
    import and for a second that overlaps it (only its new lines count)."""
    settings.IMPORT_BULK_LOAD_EMPTY_TABLE = bulk_load
    d = slice_frame()
    later = d.iloc[len(d) // 2 :].copy()
    later["InvoiceNo"] = later["InvoiceNo"].where(later.index % 3 > 0, "9" + later["InvoiceNo"])
    later_path = tmp_path / "later.csv"
    later.to_csv(later_path, index=False)

    first = import_path(ONLINE_RETAIL_SLICE)
    second = import_path(later_path)

    for record in (first, second):
        assert record.status == ImportRecord.Status.SUCCEEDED, record.error
        read_back = stored_figures(record)  # from the line table
        assert {k: record.summary[k] for k in read_back} == read_back
    assert 0 < second.summary["orders"] < first.summary["orders"]


def test_the_start_button_shows_only_to_who_may_start_runs(client_for, monkeypatch):
    record = import_path(CDNOW_SLICE)
    run_form = reverse("clustering:run-create")

    page = client_for("manager").get(record.get_absolute_url()).content.decode()
    assert "Start a segmentation" in page and f'{run_form}"' in page

    # A role that may import but not start runs (none of today's roles) sees no button.
    importer = [p for p in ROLE_PERMISSIONS["admin"] if p != "accounts.manage_runs"]
    monkeypatch.setitem(ROLE_PERMISSIONS, "admin", importer)
    page = client_for("admin").get(record.get_absolute_url())
    assert page.status_code == 200
    assert "Start a segmentation" not in page.content.decode()


def test_the_import_is_running_as_soon_as_the_worker_reads(shop, monkeypatch, settings):
    from customers.importing import progress

    # Progress on this connection (a bulk load writes it through another thread's).
    settings.IMPORT_BULK_LOAD_EMPTY_TABLE = False

    seen = []
    original = progress.write_progress

    def spy(record, *, stage, percent):
        original(record, stage=stage, percent=percent)
        seen.append((ImportRecord.objects.in_workspace(shop).get(pk=record.pk).status, stage))

    monkeypatch.setattr(progress, "write_progress", spy)
    record = import_path(CDNOW_SLICE)
    assert record.status == ImportRecord.Status.SUCCEEDED
    assert seen and all(status == ImportRecord.Status.RUNNING for status, _ in seen)
