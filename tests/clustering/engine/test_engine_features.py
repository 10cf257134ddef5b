"""RFM and behaviour features on small hand-made transactions (values computed by hand)."""

import numpy as np
import pandas as pd
import pytest

from clustering.engine.features import (
    aggregate_transactions,
    customer_features,
    features_from_aggregates,
)
from clustering.engine.types import AGGREGATE_COLUMNS, InvalidParameters


def line(cust, inv, code, qty, price, ts, country="UK", ret=False, non_product=False):
    return {
        "customer_id": cust,
        "invoice": inv,
        "product_code": code,
        "quantity": float(qty),
        "unit_price": float(price),
        "amount": float(qty) * float(price),
        "timestamp": pd.Timestamp(ts),
        "country": country,
        "is_return": ret,
        "is_non_product": non_product,
    }


@pytest.fixture
def lines():
    return pd.DataFrame(
        [
            # A: three invoices on two days, one return, one postage line
            line("A", "1", "P1", 2, 10, "2011-01-01 10:00"),
            line("A", "1", "P2", 1, 5, "2011-01-01 10:00"),
            line("A", "1", "POST", 1, 18, "2011-01-01 10:00", non_product=True),
            line("A", "2", "P1", 1, 10, "2011-01-01 15:00"),
            line("A", "3", "P3", 4, 2.5, "2011-01-11 09:00", country="France"),
            line("A", "C9", "P1", -1, 10, "2011-01-12 09:00", ret=True),
            # B: one invoice
            line("B", "4", "P1", 3, 10, "2011-01-20 12:00", country="Germany"),
            # C: bought and returned everything -> net 0 -> excluded
            line("C", "5", "P2", 2, 5, "2011-01-05 12:00"),
            line("C", "C6", "P2", -2, 5, "2011-01-06 12:00", ret=True),
            # D: only a return in the data -> no purchases
            line("D", "C7", "P1", -1, 10, "2011-01-07 12:00", ret=True),
        ]
    )


def test_aggregate_table_matches_hand_computed_values(lines):
    agg, ref = aggregate_transactions(lines)
    assert ref == pd.Timestamp("2011-01-21")  # day after the last line
    assert list(agg.columns) == list(AGGREGATE_COLUMNS)
    a = agg.set_index("customer_id").loc["A"]
    assert a["invoices"] == 3
    assert a["gross_revenue"] == pytest.approx(20 + 5 + 10 + 10)  # postage ignored
    assert a["returned_revenue"] == pytest.approx(10)
    assert a["lines"] == 4 and a["return_lines"] == 1
    assert a["distinct_products"] == 3
    assert a["purchase_days"] == 2
    assert a["country"] == "France"  # latest purchase line
    assert a["first_purchase"] == pd.Timestamp("2011-01-01 10:00")
    assert a["last_purchase"] == pd.Timestamp("2011-01-11 09:00")


def test_features_are_hand_computed_rfm(lines):
    table = customer_features(lines)
    f = table.features
    a, b = f.loc["A"], f.loc["B"]
    assert a["recency_days"] == 10  # 2011-01-21 - 2011-01-11
    assert a["frequency"] == 3
    assert a["monetary_total"] == pytest.approx(45 - 10)  # returns subtracted
    assert a["tenure_days"] == 20
    assert a["avg_basket_value"] == pytest.approx(45 / 3)
    assert a["return_rate"] == pytest.approx(10 / 45)
    assert a["mean_days_between_purchases"] == pytest.approx(10 / 1)  # 10 days, 2 days
    assert b["recency_days"] == 1 and b["frequency"] == 1
    assert b["monetary_total"] == pytest.approx(30)
    assert np.isnan(b["mean_days_between_purchases"])  # single purchase day
    assert set(f.index) == {"A", "B"}
    assert table.excluded == {"no_purchases": 1, "non_positive_monetary": 1}


def test_keep_mode_flags_non_positive_customers(lines):
    table = customer_features(lines, non_positive_monetary="keep")
    assert "C" in table.features.index
    assert table.features.loc["C", "monetary_total"] == 0
    assert table.flagged == {"non_positive_monetary": 1}
    assert table.excluded == {"no_purchases": 1}


def test_reference_date_and_lookback_window(lines):
    ref = pd.Timestamp("2011-01-12")
    table = customer_features(lines, reference_date=ref, lookback_days=7)
    f = table.features
    # window [2011-01-05, 2011-01-12): A keeps only invoice 3 (its return is on the 12th,
    # B buys after the reference date, C nets to zero, D only returns
    assert set(f.index) == {"A"}
    assert f.loc["A", "frequency"] == 1
    assert f.loc["A", "monetary_total"] == pytest.approx(10)
    assert f.loc["A", "recency_days"] == 1
    assert f.loc["A", "tenure_days"] == 1
    assert table.reference_date == ref
    assert table.excluded == {"no_purchases": 1, "non_positive_monetary": 1}


def test_window_excludes_net_zero_customers(lines):
    table = customer_features(lines, pd.Timestamp("2011-01-15"), 7)
    assert "A" not in table.features.index
    assert table.excluded["non_positive_monetary"] == 1


def test_aggregates_from_the_database_give_the_same_features(lines):
    agg, ref = aggregate_transactions(lines)
    direct = customer_features(lines).features
    via_db = features_from_aggregates(agg, ref).features
    pd.testing.assert_frame_equal(direct, via_db)


def test_missing_columns_raise_invalid_parameters(lines):
    with pytest.raises(InvalidParameters) as err:
        features_from_aggregates(lines)
    assert err.value.field == "aggregates"
