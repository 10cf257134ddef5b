"""The automatic choice on cases where the right answer is known."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from clustering.engine import algorithms as alg
from clustering.engine.metrics import SilhouetteScorer, cluster_scores
from clustering.engine.selection import eligibility, justify, rank_candidates
from clustering.engine.types import Candidate


def sweep_candidates(X, ks=range(2, 9), names=("kmeans", "gmm", "agglomerative")):
    ctx = alg.SweepContext(42, 5_000, 50_000, max(ks))
    scorer = SilhouetteScorer(X)
    out = []
    for name in names:
        for o in alg.REGISTRY[name].sweep(X, list(ks), ctx):
            k, noise, smallest, ok, reason = eligibility(o.labels, 0.01, 0.1)
            db, ch = cluster_scores(X, o.labels)
            out.append(
                Candidate(
                    name,
                    o.k,
                    o.setting,
                    k,
                    scorer.score(o.labels),
                    db,
                    ch,
                    o.inertia,
                    o.bic,
                    noise,
                    smallest,
                    ok,
                    reason,
                    o.fit_seconds,
                    o.fitted_on,
                    False,
                )
            )
    return out


def blobs(centers, n=600, seed=0):
    X, _ = make_blobs(
        n_samples=n,
        centers=centers,
        n_features=4,
        cluster_std=0.5,
        center_box=(-10, 10),
        random_state=seed,
    )
    return (X - X.mean(axis=0)) / X.std(axis=0)


@pytest.mark.parametrize("true_k", [3, 4, 5])
def test_chooses_the_true_number_of_groups(true_k):
    cands = sweep_candidates(blobs(true_k, seed=true_k))
    ranking, elbow = rank_candidates(cands, (3, 8))
    assert ranking.iloc[0]["n_clusters"] == true_k
    assert elbow["kmeans"] == true_k
    assert ranking.iloc[0]["algorithm"] == "kmeans"  # ties go to the simplest algorithm


def test_two_groups_win_only_when_best_on_all_three_metrics():
    cands = sweep_candidates(blobs(2, seed=11))
    ranking, _ = rank_candidates(cands, (3, 8))
    best = ranking.iloc[0]
    assert best["n_clusters"] == 2 and best["wins_all_three"]


def test_k_outside_the_practical_range_is_penalised():
    # hand-made scores: k=2 has the best Silhouette but not the best DB/CH
    def cand(k, sil, db, ch, inertia):
        return Candidate(
            "kmeans",
            k,
            f"n_clusters={k}",
            k,
            sil,
            db,
            ch,
            inertia,
            None,
            0.0,
            0.1,
            True,
            "",
            0.0,
            100,
            False,
        )

    cands = [
        cand(2, 0.60, 0.90, 900, 100),
        cand(3, 0.50, 0.80, 1000, 60),
        cand(4, 0.45, 0.85, 950, 45),
        cand(5, 0.40, 0.95, 900, 40),
    ]
    ranking, _ = rank_candidates(cands, (3, 8))
    assert ranking.iloc[0]["n_clusters"] == 3
    text = justify(cands[1], ranking, {"kmeans": 3}, cands, (3, 8), None)
    assert text.startswith("K-Means, 3 segments:")
    assert "elbow" in text


def test_eligibility_reasons():
    labels = np.r_[np.zeros(99), np.ones(1)].astype(int)
    assert eligibility(labels, 0.01, 0.1)[3] is True
    k, _, smallest, ok, reason = eligibility(np.r_[np.zeros(199), 1].astype(int), 0.01, 0.1)
    assert not ok and "smallest segment" in reason and smallest == pytest.approx(0.005)
    *_, ok, reason = eligibility(
        np.r_[np.zeros(80), -np.ones(20), np.ones(50)].astype(int), 0.01, 0.1
    )
    assert not ok and "noise" in reason
    *_, ok, reason = eligibility(np.zeros(10, int), 0.01, 0.1)
    assert not ok and "only 1" in reason


def test_ineligible_candidates_are_not_chosen():
    cands = sweep_candidates(blobs(4, seed=4))
    bad = Candidate(
        "kmeans",
        4,
        "fake",
        4,
        0.99,
        0.01,
        1e9,
        1.0,
        None,
        0.0,
        0.001,
        False,
        "smallest segment 0.10% < 1%",
        0.0,
        10,
        False,
    )
    ranking, _ = rank_candidates(cands + [bad], (3, 8))
    assert "kmeans:fake" not in set(ranking["key"])
