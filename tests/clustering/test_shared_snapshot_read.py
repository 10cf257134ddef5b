"""A big workspace's aggregates read on several PostgreSQL connections at once (ranges of
customers, one exported snapshot): the same tables as one connection's read, and nothing
committed after the read began, on any of the connections."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pandas as pd
import pytest
from django.db import connection, connections

import clustering.aggregation as aggregation
from customers.models import Customer, ImportRecord, TransactionLine
from tests.conftest import require

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def lines_stored(shop):
    from tests.clustering.factories import load_transactions, synthetic_lines

    require(connection.vendor == "postgresql", "PostgreSQL")
    load_transactions(synthetic_lines(160, seed=5), workspace=shop)
    return shop


def _read(shop, settings, connections_used: int):
    settings.RUN_READ_CONNECTIONS = connections_used
    settings.RUN_READ_SPLIT_MIN_CUSTOMERS = 1
    return aggregation.customer_aggregates(workspace=shop, holdout_share=0.25)


def test_the_split_read_is_the_one_connection_read(lines_stored, settings, monkeypatch):
    calls = []
    real = aggregation.in_snapshot
    monkeypatch.setattr(
        aggregation,
        "in_snapshot",
        lambda snapshot, jobs: calls.append(len(jobs)) or real(snapshot, jobs),
    )
    split = _read(lines_stored, settings, 3)
    assert calls == [3]  # three ranges of customers
    whole = _read(lines_stored, settings, 1)
    assert calls == [3]
    pd.testing.assert_frame_equal(split.table, whole.table)
    assert split.fingerprint == whole.fingerprint
    pd.testing.assert_series_equal(split.pk_by_customer_id, whole.pk_by_customer_id)
    pd.testing.assert_frame_equal(split.calibration.aggregates, whole.calibration.aggregates)
    pd.testing.assert_series_equal(
        split.calibration.daily_purchase_days, whole.calibration.daily_purchase_days
    )


def test_lines_committed_once_the_read_began_are_on_no_connection(
    lines_stored, settings, monkeypatch
):
    """Lines committed by another connection after the read's snapshot was exported, one of
    a known customer and one of a new customer: the split read is the read from before them."""
    before = _read(lines_stored, settings, 1)
    real = aggregation.in_snapshot
    failures = []

    def commit_elsewhere() -> None:
        try:
            record = ImportRecord.objects.in_workspace(lines_stored).first()
            latest = TransactionLine.objects.in_workspace(lines_stored).latest("timestamp")
            known = Customer.objects.in_workspace(lines_stored).order_by("pk").first()
            new = Customer.objects.create(workspace=lines_stored, external_id="late-comer")
            for customer, line_hash in ((known, "e" * 32), (new, "f" * 32)):
                TransactionLine.objects.create(
                    workspace=lines_stored,
                    customer=customer,
                    invoice=f"late-{line_hash[0]}",
                    product_code="P1",
                    quantity=Decimal(1),
                    unit_price=Decimal(5),
                    amount=Decimal(5),
                    timestamp=latest.timestamp - timedelta(days=1),
                    country="",
                    import_record=record,
                    line_hash=line_hash,
                )
        except Exception as error:  # raised again in the test's own thread
            failures.append(error)
        finally:
            connections.close_all()

    def late_commit(snapshot, jobs):
        monkeypatch.setattr(aggregation, "in_snapshot", real)  # once
        writer = threading.Thread(target=commit_elsewhere)
        writer.start()
        writer.join()
        if failures:
            raise failures[0]
        return real(snapshot, jobs)

    monkeypatch.setattr(aggregation, "in_snapshot", late_commit)
    split = _read(lines_stored, settings, 2)
    pd.testing.assert_frame_equal(split.table, before.table)
    pd.testing.assert_frame_equal(split.calibration.aggregates, before.calibration.aggregates)
    after = _read(lines_stored, settings, 1)
    assert "late-comer" in set(after.table["customer_id"])
    assert after.table["lines"].sum() == before.table["lines"].sum() + 2
