"""The candidates stage cut into parts that several workers can fit at once.

A run fanned out is ``prepare`` (pipeline.py), then one :func:`fit_part` per
:class:`CandidatePart` and the value stage (``value_ahead``), in any order and on any
machine, then :func:`merge_parts` and ``finish`` (pipeline.py). :func:`run_staged` does the
same in one process; it gives the same labels and scores as ``run_segmentation`` because
both call the same functions with the same seeds: a part rebuilds the sweep's context and
Silhouette sample from the matrix and the parameters alone.

Parts: an algorithm whose candidates share work across k (one ward tree, one spectral
embedding sized for the largest k, one Birch tree tuned for it, DBSCAN's one eps knee) is
one part; K-Means, MiniBatch K-Means and GMM fit each k from scratch, so each of their k is
a part of its own. The plan lists the shared-work parts first, then the larger k before
the smaller, so that workers taking parts in order end at about the same time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from . import algorithms as alg
from .metrics import SilhouetteScorer
from .pipeline import Prepared, finish, prepare, value_ahead
from .sweep import fit_candidates, sweep_end, sweep_setup
from .types import Calibration, Candidate, SegmentationParams, SegmentationResult
from .validation import validate_params

#: Algorithms whose candidates are independent fits, one per k (no work shared across k).
ONE_FIT_PER_K = frozenset({"kmeans", "minibatch_kmeans", "gmm"})


@dataclass(frozen=True)
class CandidatePart:
    """One algorithm over some of the run's k values (all of them for shared-work ones)."""

    number: int
    algorithm: str
    ks: tuple[int, ...]

    @property
    def label(self) -> str:
        if not alg.REGISTRY[self.algorithm].takes_k:
            return self.algorithm
        return f"{self.algorithm} k={','.join(map(str, self.ks))}"


@dataclass
class PartResult:
    """A part's scored candidates and their outcomes (labels, models), in sweep order."""

    part: CandidatePart
    candidates: list[Candidate]
    outcomes: list[alg.FitOutcome]
    seconds: float


def plan_parts(n: int, params: SegmentationParams) -> list[CandidatePart]:
    """The run's candidate parts, in the order workers should take them."""
    ks, _ = sweep_setup(n, params)
    shared: list[tuple[str, tuple[int, ...]]] = [
        (a, tuple(ks)) for a in params.algorithms if a not in ONE_FIT_PER_K
    ]
    per_k: list[tuple[str, tuple[int, ...]]] = [
        (a, (k,)) for k in sorted(ks, reverse=True) for a in params.algorithms if a in ONE_FIT_PER_K
    ]
    return [CandidatePart(i, a, k) for i, (a, k) in enumerate(shared + per_k)]


class PartShared:
    """What every part a process fits on one matrix shares, built once: the Silhouette scorer
    (its distance matrix: 2 s and 400 MB at 10,000) and the sweep's context, whose samples'
    nearest neighbours (a kNN query over every row: 1.2 s at 1M) each sample-based part
    would otherwise compute again."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._scorer: SilhouetteScorer | None = None
        self._context: alg.SweepContext | None = None

    def get(
        self, X: np.ndarray, matrix_key: str, params: SegmentationParams
    ) -> tuple[SilhouetteScorer, alg.SweepContext]:
        _, ctx = sweep_setup(len(X), params)
        key = (
            matrix_key,
            params.silhouette_sample_size,
            (ctx.seed, ctx.quadratic_sample_size, ctx.linear_sample_size, ctx.k_max),
        )
        if key != self._key or self._scorer is None or self._context is None:
            self.clear()  # let the old matrix's go before the new ones are built
            self._scorer = SilhouetteScorer(X, params.silhouette_sample_size, alg.SAMPLE_SEED)
            self._context, self._key = ctx, key
        return self._scorer, self._context

    def clear(self) -> None:
        self._key, self._scorer, self._context = None, None, None


def fit_part(
    X: np.ndarray,
    params: SegmentationParams,
    part: CandidatePart,
    *,
    shared: PartShared | None = None,
    matrix_key: str = "",
    each: Callable[[Candidate], None] | None = None,
) -> PartResult:
    """Fit and score one part's candidates (``each`` is called after every candidate; it may
    raise to stop, as the run's cancel check does). ``shared`` keeps the scorer and the
    sweep's context for the next part on the matrix named ``matrix_key``."""
    started = time.perf_counter()
    with threadpool_limits(limits=params.blas_threads):
        scorer, ctx = (shared or PartShared()).get(X, matrix_key, params)
        candidates, outcomes = fit_candidates(
            X, part.algorithm, part.ks, ctx, scorer, params, {}, each or (lambda _c: None)
        )
    return PartResult(part, candidates, outcomes, time.perf_counter() - started)


def merge_parts(
    prepared: Prepared, params: SegmentationParams, results: list[PartResult]
) -> tuple[list[Candidate], dict[str, alg.FitOutcome]]:
    """The parts' candidates in the one-process sweep's order, duplicates set aside and the
    sweep's notes added to the prepared notes."""
    by_algorithm: dict[str, list[PartResult]] = {}
    for r in results:
        by_algorithm.setdefault(r.part.algorithm, []).append(r)
    missing = {p.number for p in plan_parts(prepared.n, params)} - {r.part.number for r in results}
    if missing:
        raise ValueError(f"candidate parts {sorted(missing)} have no result")
    candidates: list[Candidate] = []
    outcomes: dict[str, alg.FitOutcome] = {}
    for name in params.algorithms:
        for r in sorted(by_algorithm.get(name, []), key=lambda r: r.part.ks):
            candidates.extend(r.candidates)
            outcomes.update(zip((c.key for c in r.candidates), r.outcomes, strict=True))
    _, ctx = sweep_setup(prepared.n, params)
    return sweep_end(prepared.X, candidates, outcomes, params, ctx, prepared.notes)


def run_staged(
    data: pd.DataFrame,
    params: SegmentationParams,
    calibration: Calibration | None = None,
    order: Callable[[list[CandidatePart]], list[CandidatePart]] | None = None,
) -> SegmentationResult:
    """The fan-out path in one process (for tests and the bench): prepare, every part on
    its own (in ``order``), merge, finish."""
    validate_params(params)
    timings: dict[str, float] = {}

    def quiet(_stage: str, _percent: float) -> None:
        pass

    def lap(_name: str) -> None:
        pass

    with threadpool_limits(limits=params.blas_threads):
        prepared = prepare(data, params, quiet, lap)
        parts = plan_parts(prepared.n, params)
        results = [fit_part(prepared.X, params, p) for p in (order or list)(parts)]
        ahead = value_ahead(prepared, params, calibration)  # a part of its own, as fanned out
        candidates, outcomes = merge_parts(prepared, params, results)
        return finish(
            prepared, candidates, outcomes, params, quiet, lap, timings, calibration, ahead
        )
