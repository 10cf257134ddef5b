"""Bootstrap stability (clustering/engine/choice.py) is a measurement of the data and the
candidate: the run's seed does not move it. No database."""

import numpy as np
from sklearn.datasets import make_blobs

from clustering.engine import algorithms as alg
from clustering.engine.choice import bootstrap_stability
from clustering.engine.types import Candidate, SegmentationParams


def test_stability_is_the_same_whatever_the_runs_seed():
    # overlapping groups and too many clusters: refits from different starts differ
    X, _ = make_blobs(3000, centers=4, cluster_std=3.0, random_state=0)
    labels = np.random.default_rng(0).integers(0, 7, len(X))
    outcome = alg.FitOutcome("gmm", 7, "n_components=7", labels, len(X), 0.0)
    cand = Candidate(
        "gmm", 7, "n_components=7", 7, 0.1, 1.0, 100.0, None, None, 0.0, 0.1, True, "", 0.0,
        len(X), False,
    )  # fmt: skip
    seen = []
    for seed in (1, 2, 42):
        params = SegmentationParams(seed=seed, stability_resamples=3)
        seen.append(bootstrap_stability(X, cand, [cand], {cand.key: outcome}, params, _quiet))
    assert seen[0].scores == seen[1].scores == seen[2].scores
    assert seen[0].resample_size == 3000 and len(seen[0].scores) == 3


def _quiet(stage: str, percent: float) -> None:
    """No progress to report."""
