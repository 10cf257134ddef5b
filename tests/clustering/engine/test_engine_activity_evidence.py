"""Activity named by P(alive) when the purchase model validated on the holdout
(clustering/engine/activity.py activity_evidence, customer_status), and by the days since the
last purchase otherwise.  No database."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clustering.engine.activity import (
    P_ALIVE_ACTIVE,
    P_ALIVE_LAPSED,
    P_ALIVE_MAX_ERROR,
    activity_evidence,
    customer_status,
    member_status_by_p_alive,
    p_alive_active_cut,
    status_by_p_alive,
)
from clustering.engine.types import ACTIVITY_STATUSES, ActivityRhythm

RHYTHM = ActivityRhythm(100.0, 200.0, 50, "test")
CDNOW = Path(__file__).resolve().parents[3] / "sample_data" / "cdnow" / "cdnow_master.csv.gz"


@pytest.mark.parametrize(
    ("holdout", "evidence", "words"),
    [
        ({"error": -0.074}, "p_alive", "within 7.4%"),
        ({"error": P_ALIVE_MAX_ERROR}, "p_alive", "within 15.0%"),
        ({"error": -0.249}, "recency", "missed the holdout's repeat purchases by -24.9%"),
        ({"error": None}, "recency", "not checked on a holdout"),
        (None, "recency", "not checked on a holdout"),
    ],
)
def test_p_alive_names_activity_only_when_the_model_validated(holdout, evidence, words):
    rhythm = activity_evidence(RHYTHM, holdout)
    assert rhythm.evidence == evidence and words in rhythm.evidence_basis
    assert (rhythm.active_days, rhythm.lapsed_days) == (100.0, 200.0)


def test_repeat_buyers_by_p_alive_and_one_time_buyers_by_days():
    features = pd.DataFrame(
        {"recency_days": [10.0, 10.0, 300.0, 150.0, 10.0, 300.0]},
        index=pd.Index(list("abcdef"), name="customer_id"),
    )
    # a, b: recent repeat buyers, P(alive) high and low; c: long silent but P(alive) middling;
    # d: one-time buyer (P(alive) 1 by the model) cooling by days; e: a recent repeat buyer;
    # f: left out by the value stage (no P(alive)), lapsed by days
    p_alive = pd.Series([0.9, 0.1, 0.5, 1.0, np.nan, 0.95], index=list("abcdfe"))
    by_days = customer_status(features, RHYTHM)
    assert [ACTIVITY_STATUSES[s] for s in by_days] == [
        "active",
        "active",
        "lapsed",
        "cooling",
        "active",
        "lapsed",
    ]
    named = customer_status(features, activity_evidence(RHYTHM, {"error": 0.05}), p_alive)
    assert [ACTIVITY_STATUSES[s] for s in named] == [
        "active",
        "lapsed",
        "cooling",
        "cooling",
        "active",
        "lapsed",
    ]
    # not validated: P(alive) is ignored
    kept = customer_status(features, activity_evidence(RHYTHM, {"error": 0.4}), p_alive)
    assert list(kept) == list(by_days)


def test_a_validated_run_names_each_segment_by_the_evidence_it_says():
    from clustering.engine import SegmentationParams, run_segmentation
    from clustering.engine.loaders import read_transactions

    lines = read_transactions(CDNOW)
    fast = {"algorithms": ("kmeans",), "k_max": 6, "stability_resamples": 2}
    result = run_segmentation(lines, SegmentationParams(**fast))
    assert abs(result.value.holdout["error"]) <= P_ALIVE_MAX_ERROR  # measured -7.4%
    rhythm = result.activity
    assert rhythm.evidence == "p_alive" and "P(alive)" in rhythm.evidence_basis
    p_alive = result.assignments.set_index("customer_id")["p_alive"]
    segment = result.assignments.set_index("customer_id")["segment_id"]
    for evidence, words in (("p_alive", "P(alive)"), ("recency", "days since the last")):
        status = customer_status(
            result.features,
            activity_evidence(rhythm, {"error": 0.0 if evidence == "p_alive" else 1.0}),
            p_alive,
        )
        for p in (p for p in result.segments if p.activity_evidence == evidence):
            assert p.why.endswith(
                f"activity judged by {words}"
                + (" for repeat buyers" if evidence == "p_alive" else " purchase")
            )
            members = status[(segment.reindex(result.features.index) == p.segment_id).to_numpy()]
            shares = np.bincount(members, minlength=3) / len(members)
            assert [p.activity_shares[s] for s in ACTIVITY_STATUSES] == pytest.approx(shares)
            assert all(c.holds for c in p.conditions)
    assert any(p.activity_evidence == "p_alive" for p in result.segments)


def test_the_active_cut_is_where_p_alive_agrees_best_with_the_days():
    # 40 repeat buyers the days call active, 40 they call lapsed, 20 cooling (not counted);
    # the actives' P(alive) spreads down to 0.62, the lapsed ones' up to 0.58
    rng = np.random.default_rng(3)
    recency = np.r_[np.full(40, 50.0), np.full(40, 300.0), np.full(20, 150.0)]
    p = np.r_[rng.uniform(0.62, 0.99, 40), rng.uniform(0.01, 0.58, 40), rng.uniform(0, 1, 20)]
    ids = pd.Index([f"c{i}" for i in range(100)], name="customer_id")
    features = pd.DataFrame({"recency_days": recency}, index=ids)
    p_alive = pd.Series(p, index=ids)
    assert p_alive_active_cut(features, p_alive, RHYTHM) == 0.60  # both 0.60 (only) agree fully
    rhythm = activity_evidence(RHYTHM, {"error": 0.05}, features, p_alive)
    assert rhythm.p_alive_active == 0.60 and "active from 60%" in rhythm.evidence_basis
    status = customer_status(features, rhythm, p_alive)
    assert (status[:40] == 0).all() and (status[40:80] != 0).all()
    assert (status[40:80] == np.where(p[40:80] < 0.3, 2, 1)).all()
    # a model that did not validate has no cut; too few clear cases keep the default
    assert activity_evidence(RHYTHM, {"error": 0.4}, features, p_alive).p_alive_active is None
    few = features.iloc[:10]
    assert p_alive_active_cut(few, p_alive, RHYTHM) == P_ALIVE_ACTIVE
    # an already measured cut survives a second look without the data
    assert activity_evidence(rhythm, {"error": 0.0}).p_alive_active == 0.60


def test_one_customers_status_by_p_alive_is_the_arrays():
    """The members list judges one member at a time; the run judged them all at once."""
    p = [0.0, 0.29999, P_ALIVE_LAPSED, 0.5499, 0.55, 0.99, 1.0, float("nan"), 0.7]
    at_once = status_by_p_alive(np.array(p), 0.55).tolist()
    assert [member_status_by_p_alive(v, 0.55) for v in p] == at_once
    assert at_once == [2, 2, 1, 1, 0, 0, -1, -1, 0]
    assert member_status_by_p_alive(None, 0.55) == -1
