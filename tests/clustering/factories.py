"""Customers and transaction lines in the database, straight from the engine's synthetic
generator (canonical columns), without going through the file import."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pandas as pd
from django.conf import settings
from django.utils import timezone

from clustering.engine.synthetic import make_transactions
from customers.models import Customer, ImportRecord, TransactionLine


def line_at(customer: str, invoice: str, utc: str, country: str = "United Kingdom") -> dict:
    """One purchase line (canonical columns) at a UTC instant, given as load_transactions
    reads times: naive, in the site's zone."""
    when = pd.Timestamp(utc, tz="UTC").tz_convert(settings.TIME_ZONE).tz_localize(None)
    return {
        "customer_id": customer, "invoice": invoice, "product_code": "P1", "quantity": 1.0,
        "unit_price": 10.0, "amount": 10.0, "timestamp": when, "country": country,
        "is_return": False, "is_non_product": False,
    }  # fmt: skip


FAST_PARAMS = {
    "algorithms": ["kmeans", "gmm", "agglomerative"],
    "k_min": 2,
    "k_max": 6,
    "seed": 7,
}


def load_transactions(
    lines: pd.DataFrame, *, name: str = "synthetic.csv", workspace=None
) -> ImportRecord:
    """Store canonical transaction lines (clustering.engine.types.TRANSACTION_COLUMNS) in
    `workspace` (default: the test shop, tests/shops.py)."""
    from tests.shops import test_shop

    workspace = workspace or test_shop()
    record = ImportRecord.objects.create(
        workspace=workspace,
        file_name=name,
        sha256=hashlib.sha256(name.encode()).hexdigest(),
        status=ImportRecord.Status.SUCCEEDED,
        rows_read=len(lines),
        rows_imported=len(lines),
    )
    latest = lines.sort_values("timestamp").groupby("customer_id").tail(1)
    tz = timezone.get_current_timezone()
    # the summaries an import keeps on each customer (purchases: not returns, not fees)
    buying = lines[~lines["is_return"].astype(bool) & ~lines["is_non_product"].astype(bool)]
    first = buying.groupby("customer_id")["timestamp"].min()
    last = buying.groupby("customer_id")["timestamp"].max()
    seen = lines.groupby("customer_id")["timestamp"].max()

    def aware(summary: pd.Series, customer):
        value = summary.get(customer)
        return None if value is None else timezone.make_aware(value.to_pydatetime(), tz)

    Customer.objects.bulk_create(
        Customer(
            workspace=workspace,
            external_id=str(c),
            country=str(country),
            first_purchase_at=aware(first, c),
            last_purchase_at=aware(last, c),
            last_seen_at=aware(seen, c),
        )
        for c, country in zip(latest["customer_id"], latest["country"], strict=True)
    )
    pk = dict(Customer.objects.in_workspace(workspace).values_list("external_id", "pk"))
    TransactionLine.objects.bulk_create(
        (
            TransactionLine(
                workspace=workspace,
                customer_id=pk[str(row.customer_id)],
                invoice=row.invoice,
                product_code=row.product_code,
                quantity=Decimal(str(row.quantity)),
                unit_price=Decimal(str(round(row.unit_price, 4))),
                amount=Decimal(str(round(row.amount, 2))),
                timestamp=timezone.make_aware(row.timestamp.to_pydatetime(), tz),
                country=row.country,
                is_return=bool(row.is_return),
                is_non_product=bool(row.is_non_product),
                import_record=record,
                line_hash=hashlib.md5(  # noqa: S324 - a row key, not security
                    f"{name}:{i}".encode()
                ).hexdigest(),
            )
            for i, row in enumerate(lines.itertuples(index=False))
        ),
        batch_size=2000,
    )
    return record


def synthetic_lines(n_customers: int = 400, seed: int = 3) -> pd.DataFrame:
    lines = make_transactions(n_customers, seed=seed)
    # Stored amounts are rounded to cents; keep the frame identical to what is stored.
    lines["amount"] = lines["amount"].round(2)
    return lines


def executed_run(
    workspace,
    user,
    params: dict,
    *,
    name: str = "",
    token: str = "tests",
    k_max_by_shop_size: bool = False,
):
    """A run created, executed in this process and read back in `workspace` (asserts it
    succeeded, with the run's error as the message)."""
    from django.db import transaction

    from clustering.models import SegmentationRun
    from clustering.params import params_from_input
    from clustering.services import run_create, run_execute

    with transaction.atomic():
        run = run_create(
            workspace=workspace,
            user=user,
            params=params_from_input(params),
            name=name,
            enqueue=False,
            k_max_by_shop_size=k_max_by_shop_size,
        )
    outcome = run_execute(run_id=run.pk, token=f"{token}-{run.pk}", hostname="tests@host")
    assert outcome == "succeeded", SegmentationRun.unscoped.get(pk=run.pk).error
    return SegmentationRun.objects.in_workspace(workspace).get(pk=run.pk)
