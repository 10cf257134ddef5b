"""The candidates stage: every algorithm over the k range, scored, and near-identical
partitions set aside so that they do not compete on noise."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence

import numpy as np
from sklearn.metrics import adjusted_rand_score

from . import algorithms as alg
from .metrics import SilhouetteScorer, cluster_scores, silhouette_rows
from .selection import eligibility
from .types import Candidate, SegmentationParams
from .validation import k_range
from .vocabulary import ALGORITHM_LABELS

#: Two candidates with the same number of segments and labels this close are one partition.
SAME_PARTITION_ARI = 0.95


def sweep(
    X: np.ndarray,
    params: SegmentationParams,
    step: Callable[[str, float], None],
    lap: Callable[[str], None],
    timings: dict[str, float],
    notes: list[str],
) -> tuple[list[Candidate], dict[str, alg.FitOutcome]]:
    """Fit and score every candidate; near-identical partitions are set aside.

    The fan-out path (stages.py) runs the same three steps with fit_candidates spread over
    workers: sweep_setup, fit_candidates per algorithm, sweep_end."""
    ks, ctx = sweep_setup(len(X), params)
    scorer = SilhouetteScorer(X, params.silhouette_sample_size, alg.SAMPLE_SEED)
    lap("silhouette_matrix")
    total = sum(
        len(alg.DBSCAN_EPS_FACTORS) if not alg.REGISTRY[a].takes_k else len(ks)
        for a in params.algorithms
    )
    done = 0

    def each(cand: Candidate) -> None:
        nonlocal done
        done += 1
        step(f"candidates:{cand.key}", 8 + 70 * done / total)

    candidates: list[Candidate] = []
    outcomes: dict[str, alg.FitOutcome] = {}
    step("candidates", 8)
    for name in params.algorithms:
        cands, outs = fit_candidates(X, name, ks, ctx, scorer, params, timings, each)
        candidates.extend(cands)
        outcomes.update(zip((c.key for c in cands), outs, strict=True))
    lap("candidates")
    return sweep_end(X, candidates, outcomes, params, ctx, notes)


def sweep_setup(n: int, params: SegmentationParams) -> tuple[list[int], alg.SweepContext]:
    """The k values worth fitting on n customers and the sweep's shared context."""
    ks = [k for k in k_range(params) if k < n]
    ctx = alg.SweepContext(
        params.seed, params.quadratic_sample_size, params.linear_sample_size, max(ks)
    )
    return ks, ctx


def fit_candidates(
    X: np.ndarray,
    name: str,
    ks: Sequence[int],
    ctx: alg.SweepContext,
    scorer: SilhouetteScorer,
    params: SegmentationParams,
    timings: dict[str, float],
    each: Callable[[Candidate], None],
) -> tuple[list[Candidate], list[alg.FitOutcome]]:
    """One algorithm's candidates over ks, fitted and scored, in the sweep's order."""
    candidates: list[Candidate] = []
    outcomes: list[alg.FitOutcome] = []
    for out in alg.REGISTRY[name].sweep(X, ks, ctx):
        t = time.perf_counter()
        cand = _score(X, name, out, scorer, params)
        out.labels = out.labels.astype(np.int16)
        candidates.append(cand)
        outcomes.append(out)
        timings["metrics"] = timings.get("metrics", 0.0) + time.perf_counter() - t
        each(cand)
    return candidates, outcomes


def sweep_end(
    X: np.ndarray,
    candidates: list[Candidate],
    outcomes: dict[str, alg.FitOutcome],
    params: SegmentationParams,
    ctx: alg.SweepContext,
    notes: list[str],
) -> tuple[list[Candidate], dict[str, alg.FitOutcome]]:
    """Near-identical partitions set aside, and the notes on what saw a sample."""
    n = len(X)
    rows = silhouette_rows(n, params.silhouette_sample_size, alg.SAMPLE_SEED)
    if len(rows) < n:
        notes.append(f"Silhouette computed on a sample of {len(rows):,} of {n:,} customers")
    candidates = set_aside_duplicates(candidates, outcomes, rows)
    notes.extend(alg.sampling_notes(params.algorithms, n, ctx))
    return candidates, outcomes


def _score(
    X: np.ndarray,
    name: str,
    out: alg.FitOutcome,
    scorer: SilhouetteScorer,
    params: SegmentationParams,
) -> Candidate:
    k_found, noise, smallest, ok, reason = eligibility(
        out.labels, params.min_segment_share, params.max_noise_share
    )
    if k_found >= 2:
        sil = scorer.score(out.labels)
        db, ch = cluster_scores(X, out.labels)
    else:
        sil = db = ch = float("nan")
    return Candidate(
        algorithm=name,
        k=out.k,
        setting=out.setting,
        n_clusters=k_found,
        silhouette=sil,
        davies_bouldin=db,
        calinski_harabasz=ch,
        inertia=out.inertia,
        bic=out.bic,
        noise_share=noise,
        min_segment_share=smallest,
        eligible=ok,
        reason=reason,
        fit_seconds=out.fit_seconds,
        fitted_on=out.fitted_on,
        silhouette_sampled=scorer.sampled,
    )


def set_aside_duplicates(
    candidates: list[Candidate], outcomes: dict, rows: np.ndarray
) -> list[Candidate]:
    """An eligible candidate whose segments match an earlier (simpler) one's at
    SAME_PARTITION_ARI is set aside: near-identical partitions must not compete on noise."""
    kept: list[Candidate] = []
    out = []
    for c in candidates:
        if c.eligible:
            labels = outcomes[c.key].labels[rows]
            twin = next(
                (
                    k
                    for k in kept
                    if k.n_clusters == c.n_clusters
                    and adjusted_rand_score(outcomes[k.key].labels[rows], labels)
                    >= SAME_PARTITION_ARI
                ),
                None,
            )
            if twin is not None:
                c = dataclasses.replace(
                    c,
                    eligible=False,
                    reason=f"same segments as {ALGORITHM_LABELS[twin.algorithm]} ({twin.setting})",
                )
            else:
                kept.append(c)
        out.append(c)
    return out
