"""A run counts a shop's days in the shop's time zone, as its pages show them: the purchase
days, the first and last purchase and the reference date of a Tokyo shop are Tokyo's, on the
one-connection read and on PostgreSQL's split read alike."""

from __future__ import annotations

import pandas as pd
import pytest
from django.db import connection

import clustering.aggregation as aggregation
from tests import shops
from tests.clustering.factories import line_at, load_transactions
from tests.conftest import require

LINES = [
    line_at("C1", "A1", "2024-03-01 10:00", "Japan"),  # 1 Mar 19:00 in Tokyo
    line_at("C1", "A2", "2024-03-03 23:30", "Japan"),  # 4 Mar 08:30 in Tokyo, 3 Mar in London
    line_at("C2", "B1", "2024-03-02 23:30", "Japan"),  # 3 Mar 08:30 in Tokyo, 2 Mar in London
    line_at("C2", "B2", "2024-03-03 00:30", "Japan"),  # 3 Mar 09:30 in Tokyo, 3 Mar in London
]


def shop_in(zone: str, slug: str):
    workspace = shops.test_shop({"slug": slug, "name": slug, "currency": "JPY", "time_zone": zone})
    load_transactions(pd.DataFrame(LINES), workspace=workspace)
    return workspace


def by_customer(read) -> pd.DataFrame:
    return read.table.set_index("customer_id")


def check_tokyo_days(read) -> None:
    table = by_customer(read)
    assert read.reference_date == pd.Timestamp("2024-03-05")  # the day after 4 Mar, Tokyo's
    assert table.loc["C1", "first_purchase"] == pd.Timestamp("2024-03-01 19:00")
    assert table.loc["C1", "last_purchase"] == pd.Timestamp("2024-03-04 08:30")
    assert table.loc["C1", "purchase_days"] == 2
    assert table.loc["C2", "purchase_days"] == 1  # both on 3 Mar in Tokyo


@pytest.mark.django_db
def test_a_run_reads_a_shops_days_in_its_time_zone():
    check_tokyo_days(aggregation.customer_aggregates(workspace=shop_in("Asia/Tokyo", "tokyo")))
    london = by_customer(
        aggregation.customer_aggregates(workspace=shop_in("Europe/London", "london"))
    )
    assert london.loc["C2", "purchase_days"] == 2  # 2 and 3 Mar in London
    assert london.loc["C1", "last_purchase"] == pd.Timestamp("2024-03-03 23:30")


@pytest.mark.django_db(transaction=True)
def test_the_split_read_counts_the_shops_days_on_every_connection(settings, monkeypatch):
    require(connection.vendor == "postgresql", "PostgreSQL")
    settings.RUN_READ_CONNECTIONS = 2
    settings.RUN_READ_SPLIT_MIN_CUSTOMERS = 1
    calls = []
    real = aggregation.in_snapshot

    def spied(snapshot, jobs):
        calls.append(len(jobs))
        return real(snapshot, jobs)

    monkeypatch.setattr(aggregation, "in_snapshot", spied)
    read = aggregation.customer_aggregates(workspace=shop_in("Asia/Tokyo", "tokyo-split"))
    assert calls == [2]  # the customers read on two connections, each a thread
    check_tokyo_days(read)
