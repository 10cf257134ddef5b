"""The choice stage: rank the candidates, then measure the leaders' bootstrap stability and
take the first stable one (selection.choose_stable).  Resamples are drawn, and refitted,
with the fixed sample seed, so runs on the same data are judged alike whatever their seed."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from . import algorithms as alg
from .selection import choose_stable, rank_candidates
from .types import STABLE_ARI, Candidate, InvalidParameters, SegmentationParams, Stability


def choose(
    X: np.ndarray,
    candidates: list[Candidate],
    outcomes: dict[str, alg.FitOutcome],
    params: SegmentationParams,
    step: Callable[[str, float], None],
    notes: list[str],
) -> tuple[Candidate, pd.DataFrame, dict[str, int], dict[str, float], Stability]:
    """Rank, then measure the leaders' stability and take the first stable one."""
    ranking, elbow = rank_candidates(candidates, params.practical_k)
    by_key = {c.key: c for c in candidates}
    if not len(ranking):
        usable = [c for c in candidates if np.isfinite(c.silhouette)]
        if not usable:
            raise InvalidParameters("algorithms", "no candidate produced 2 or more segments")
        chosen = max(usable, key=lambda c: c.silhouette)
        notes.append("no candidate met the eligibility rules; best Silhouette used")
        stability = bootstrap_stability(X, chosen, candidates, outcomes, params, step)
        return chosen, ranking, elbow, {}, stability

    measured: dict[str, Stability] = {}

    def measure(key: str) -> float:
        step("stability", 80 + 3 * len(measured))
        measured[key] = bootstrap_stability(X, by_key[key], candidates, outcomes, params, step)
        return measured[key].mean_adjusted_rand

    if params.stability_resamples == 0:
        chosen = by_key[ranking.iloc[0]["key"]]
        stability = bootstrap_stability(X, chosen, candidates, outcomes, params, step)
        return chosen, ranking, elbow, {}, stability
    position, checked = choose_stable(ranking, measure)
    chosen = by_key[list(checked)[position]]
    return chosen, ranking, elbow, checked, measured[chosen.key]


def bootstrap_stability(
    X: np.ndarray,
    cand: Candidate,
    candidates: list[Candidate],
    outcomes: dict[str, alg.FitOutcome],
    params: SegmentationParams,
    step: Callable[[str, float], None],
) -> Stability:
    """Mean ARI between a candidate's labels and refits on bootstrap resamples.  Resamples
    are drawn and refitted with alg.SAMPLE_SEED: stability measures the data and the
    candidate, not the run's seed (docs/decisions/seed-independent-choice.md)."""
    B = params.stability_resamples
    if B == 0:
        return Stability(float("nan"), (), 0, False)
    n = len(X)
    m = min(n, params.stability_sample_size)
    spec = alg.REGISTRY[cand.algorithm]
    labels = outcomes[cand.key].labels
    # DBSCAN yields one outcome per eps factor: refit at the candidate's position
    grid_position = [c.key for c in candidates if c.algorithm == cand.algorithm].index(cand.key)
    scores = []
    for b in range(B):
        rng = np.random.default_rng(alg.SAMPLE_SEED + 1000 + b)
        rows = np.unique(rng.choice(n, size=m, replace=True))
        ctx = alg.SweepContext(
            alg.SAMPLE_SEED + 1000 + b,
            params.quadratic_sample_size,
            params.linear_sample_size,
            cand.k or 2,
        )
        ks = [cand.k] if cand.k is not None else [2]
        outs = list(spec.sweep(X[rows], ks, ctx))
        out = outs[min(grid_position, len(outs) - 1)] if cand.k is None else outs[0]
        scores.append(float(adjusted_rand_score(labels[rows], out.labels)))
    mean = float(np.mean(scores))
    return Stability(mean, tuple(scores), m, mean >= STABLE_ARI)
