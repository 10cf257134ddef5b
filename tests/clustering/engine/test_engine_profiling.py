"""Names, playbook, rules and the classic RFM grid."""

import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from clustering.engine.profiling import (
    PLAYBOOK,
    base_name,
    build_profiles,
    segment_rule,
    unique_names,
)
from clustering.engine.rfm import quintile_score, rfm_grid, rfm_segment_name


def pos(r, f, m, t=0.5):
    return {"r": r, "f": f, "m": m, "t": t}


@pytest.mark.parametrize(
    ("position", "name"),
    [
        (pos(0.9, 0.9, 0.9), "Champions"),
        (pos(0.8, 0.6, 0.5), "Loyal customers"),
        (pos(0.8, 0.2, 0.4, t=0.1), "New customers"),
        (pos(0.8, 0.2, 0.5, t=0.6), "Potential loyalists"),
        (pos(0.3, 0.8, 0.8), "At risk"),
        (pos(0.1, 0.9, 0.95), "Can't lose them"),
        (pos(0.4, 0.3, 0.2), "Price-sensitive occasional"),
        (pos(0.1, 0.1, 0.1), "Lost / one-time"),
        (pos(0.3, 0.4, 0.4), "Hibernating"),
    ],
)
def test_names_follow_the_rfm_position(position, name):
    assert base_name(position) == name


def test_every_name_has_a_playbook_entry():
    grid = np.linspace(0, 1, 11)
    for r, f, m, t in itertools.product(grid, grid, grid, (0.1, 0.9)):
        assert base_name(pos(r, f, m, t)) in PLAYBOOK


def test_duplicate_names_are_told_apart_by_spend():
    assert unique_names(["At risk", "Champions", "At risk"], [10, 99, 50]) == [
        "At risk (lower spend)",
        "Champions",
        "At risk (higher spend)",
    ]
    four = unique_names(["Lost / one-time"] * 4, [4, 3, 2, 1])
    assert len(set(four)) == 4
    assert four[0] == "Lost / one-time (high spend)" and four[3] == "Lost / one-time (low spend)"


def test_rule_recovers_a_threshold():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 100, size=(500, 2))
    y = X[:, 0] <= 30
    rule, acc, prec, rec = segment_rule(X, ["recency_days", "frequency"], y, seed=0)
    assert rule.startswith("recency_days <= 3")
    assert acc > 0.98 and prec > 0.98 and rec > 0.98


def test_profiles_on_two_obvious_groups():
    n = 200
    feats = pd.DataFrame(
        {
            "recency_days": np.r_[np.full(n, 5.0), np.full(n, 300.0)],
            "frequency": np.r_[np.full(n, 20.0), np.ones(n)],
            "monetary_total": np.r_[np.full(n, 5000.0), np.full(n, 50.0)],
            "tenure_days": np.r_[np.full(n, 360.0), np.full(n, 300.0)],
            "avg_basket_value": np.r_[np.full(n, 250.0), np.full(n, 50.0)],
            "distinct_products": 10.0,
            "return_rate": 0.0,
            "mean_days_between_purchases": np.r_[np.full(n, 18.0), np.full(n, np.nan)],
            "country": "UK",
        },
        index=[str(i) for i in range(2 * n)],
    )
    seg = np.r_[np.zeros(n, int), np.ones(n, int)]
    profiles = build_profiles(feats, seg, ("recency_days", "frequency", "monetary_total"))
    # mid-rank percentiles: the inactive half sits at r = 0.25, between Lost and Hibernating
    assert profiles[0].name == "Champions"
    assert profiles[1].name in {"Hibernating", "Lost / one-time"}
    assert profiles[0].share_revenue == pytest.approx(5000 / 5050)
    assert profiles[0].lift["monetary_total"] == pytest.approx(5000 / 2525)
    assert profiles[0].rule_accuracy == 1.0
    assert profiles[1].top_country == "UK"


def test_rfm_quintiles_and_named_cells():
    values = pd.Series(np.arange(10.0))
    np.testing.assert_array_equal(quintile_score(values), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5])
    np.testing.assert_array_equal(
        quintile_score(values, higher_is_better=False), [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    )
    assert rfm_segment_name("555") == "Champions"
    assert rfm_segment_name("111") == "Hibernating"
    assert rfm_segment_name("151") == "Can't lose them"
    assert rfm_segment_name("511") == "New customers"
    feats = pd.DataFrame(
        {
            "recency_days": np.arange(10.0),
            "frequency": np.arange(10.0)[::-1],
            "monetary_total": np.arange(10.0)[::-1] * 10,
        }
    )
    clusters = pd.Series(["a"] * 5 + ["b"] * 5)
    grid = rfm_grid(feats, clusters)
    assert grid.scores.loc[0, "rfm_cell"] == "555"
    assert grid.scores.loc[9, "rfm_segment"] == "Hibernating"
    assert grid.crosstab.to_numpy().sum() == 10
    assert grid.adjusted_rand == pytest.approx(
        adjusted_rand_score(clusters, grid.scores["rfm_segment"])
    )
