"""Shop data for the schedule's tests: lines that end a few days before today (a scheduled
run's reference date is today), and a later import of a few new customers or of big recent
purchases by one segment's members."""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal

import pandas as pd
from django.utils import timezone

from clustering.engine.synthetic import make_transactions
from clustering.models import SegmentAssignment
from customers.models import Customer, ImportRecord, TransactionLine
from tests.clustering.factories import load_transactions

PARAMS = {"algorithms": ["kmeans"], "k_min": 3, "k_max": 3, "seed": 7}


def _days_ago(days: int) -> pd.Timestamp:
    return pd.Timestamp(timezone.localdate()) - pd.Timedelta(days=days)


def load_history(workspace, n_customers: int = 160):
    return load_transactions(
        make_transactions(n_customers, seed=4, reference_date=_days_ago(3)),
        name="history.csv",
        workspace=workspace,
    )


def load_new_customers(workspace, n_customers: int = 5, name: str = "new-customers.csv"):
    """A later import: a few customers the published run did not know (nobody moves)."""
    lines = make_transactions(n_customers, seed=11, reference_date=_days_ago(2))
    tag = name.split(".")[0]
    lines["customer_id"] = f"{tag}-" + lines["customer_id"].astype(str)
    lines["invoice"] = f"{tag}-" + lines["invoice"].astype(str)
    return load_transactions(lines, name=name, workspace=workspace)


def load_big_spenders(workspace, run, name: str = "big-spenders.csv"):
    """A later import: every other member of the run's largest segment buys big, often and
    recently, so half of that segment leaves it (a whole segment moving together would
    simply continue elsewhere)."""
    segment = run.segments.order_by("-size", "number").first()
    members = list(
        SegmentAssignment.objects.in_workspace(workspace)
        .filter(run=run, segment=segment)
        .order_by("customer__external_id")
        .values_list("customer__external_id", "customer__country")
    )[::2]
    rows = []
    for i, (customer_id, country) in enumerate(members):
        for j in range(12):
            rows.append(
                {
                    "customer_id": customer_id,
                    "invoice": f"BIG{i}-{j}",
                    "product_code": f"P{j}",
                    "quantity": 10.0,
                    "unit_price": 200.0,
                    "amount": 2000.0,
                    "timestamp": _days_ago(2) - pd.Timedelta(days=3 * j),
                    "country": country,
                    "is_return": False,
                    "is_non_product": False,
                }
            )
    return _add_lines(workspace, pd.DataFrame(rows), name)


def _add_lines(workspace, lines: pd.DataFrame, name: str) -> ImportRecord:
    """Lines of customers the workspace already has, as one succeeded import."""
    record = ImportRecord.objects.create(
        workspace=workspace,
        file_name=name,
        sha256=hashlib.sha256(name.encode()).hexdigest(),
        status=ImportRecord.Status.SUCCEEDED,
        rows_read=len(lines),
        rows_imported=len(lines),
        finished_at=timezone.now(),
    )
    pk = dict(Customer.objects.in_workspace(workspace).values_list("external_id", "pk"))
    tz = timezone.get_current_timezone()
    TransactionLine.objects.bulk_create(
        TransactionLine(
            workspace=workspace,
            customer_id=pk[str(row.customer_id)],
            invoice=row.invoice,
            product_code=row.product_code,
            quantity=Decimal(str(row.quantity)),
            unit_price=Decimal(str(row.unit_price)),
            amount=Decimal(str(row.amount)),
            timestamp=timezone.make_aware(row.timestamp.to_pydatetime(), tz),
            country=row.country,
            import_record=record,
            line_hash=uuid.uuid4(),
        )
        for row in lines.itertuples(index=False)
    )
    return record
