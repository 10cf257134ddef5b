"""manage.py generate_shop: a synthetic shop in the import's layout that imports cleanly."""

from __future__ import annotations

import gzip
from io import StringIO

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from customers.models import Customer, ImportRecord
from customers.services import import_record_create, import_record_process


def test_the_same_seed_writes_the_same_shop(tmp_path):
    a, b, c = (tmp_path / f"{name}.csv.gz" for name in "abc")
    call_command("generate_shop", customers=300, out=a, seed=4, stdout=StringIO())
    call_command("generate_shop", customers=300, out=b, seed=4, stdout=StringIO())
    call_command("generate_shop", customers=300, out=c, seed=5, stdout=StringIO())
    assert gzip.decompress(a.read_bytes()) == gzip.decompress(b.read_bytes())
    assert gzip.decompress(a.read_bytes()) != gzip.decompress(c.read_bytes())


def test_spend_and_frequency_are_heavy_tailed(tmp_path):
    out = tmp_path / "shop.csv.gz"
    call_command("generate_shop", customers=5000, out=out, seed=1, stdout=StringIO())
    lines = pd.read_csv(out)
    assert list(lines.columns) == [
        "InvoiceNo", "StockCode", "Description", "Quantity",
        "InvoiceDate", "UnitPrice", "CustomerID", "Country",
    ]  # fmt: skip
    assert lines["CustomerID"].nunique() == 5000
    assert 12 <= len(lines) / 5000 <= 30  # about 20 lines a customer
    sales = lines[~lines["InvoiceNo"].astype(str).str.startswith("C")]
    spend = (sales["Quantity"] * sales["UnitPrice"]).groupby(sales["CustomerID"]).sum()
    orders = sales.groupby("CustomerID")["InvoiceNo"].nunique()
    # the top 10% of customers bring far more than 10% of the spend, and a few order often
    top = spend.sort_values(ascending=False).head(len(spend) // 10).sum() / spend.sum()
    assert top > 0.35
    assert orders.max() >= 10 * orders.median()


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(CommandError, match="--out must name a .csv.gz file"):
        call_command("generate_shop", customers=10, out=tmp_path / "shop.csv")
    with pytest.raises(CommandError, match="--customers must be at least 1"):
        call_command("generate_shop", customers=0, out=tmp_path / "shop.csv.gz")


@pytest.mark.django_db
def test_a_generated_shop_imports_cleanly(tmp_path, shop):
    out = tmp_path / "shop.csv.gz"
    call_command("generate_shop", customers=400, out=out, seed=2, stdout=StringIO())
    with open(out, "rb") as f:
        record = import_record_create(
            workspace=shop, file=f, file_name=out.name, uploaded_by=None, enqueue=False
        )
    record = import_record_process(workspace=shop, import_record_id=record.pk)
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    written = pd.read_csv(out)
    assert record.rows_read == len(written)
    assert record.rows_rejected == 0
    assert record.rows_skipped == 0
    assert record.rows_imported + record.rows_duplicate == len(written)
    assert Customer.objects.in_workspace(shop).count() == 400


def test_a_later_file_has_new_invoices_for_known_and_new_customers(tmp_path):
    first, later = tmp_path / "first.csv.gz", tmp_path / "later.csv.gz"
    call_command("generate_shop", customers=400, out=first, seed=2, stdout=StringIO())
    call_command(
        "generate_shop", customers=400, out=later, seed=3, first_customer=300,
        first_invoice=90_000_000, as_of="2024-03-01", since="2024-01-01", stdout=StringIO(),
    )  # fmt: skip
    old, new = pd.read_csv(first, dtype=str), pd.read_csv(later, dtype=str)
    assert len(new) > 0
    customers = new["CustomerID"].astype(int)
    assert customers.min() > 300 and customers.max() <= 700
    # known customers (301..400) and new ones (401..700) both have lines
    assert customers.le(400).any() and customers.gt(400).any()
    numbers = new["InvoiceNo"].str.removeprefix("C").astype(int)
    assert numbers.min() >= 90_000_000
    assert not set(new["InvoiceNo"]) & set(old["InvoiceNo"])
    assert new["InvoiceNo"].str.startswith("C").any()  # cancellations keep their mark
    dates = pd.to_datetime(new["InvoiceDate"])
    assert dates.min() >= pd.Timestamp("2024-01-01") and dates.max() <= pd.Timestamp("2024-03-01")
