"""The one entry point: :func:`run_segmentation`.

Stages and the progress percentages reported through ``progress(stage, percent)``:
validate 0, features 2, preprocess 6, candidates 8-78 (after every candidate), choose 80,
stability 80-92 (the leading candidates, before the choice), predictor 92, value 94, profiles 95,
rfm 96, pca 98, done 100.  ``should_cancel()``
is polled at every one of those points; when it returns true the run stops with
:class:`SegmentationCancelled`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from threadpoolctl import threadpool_limits

from .activity import ActivityRhythm, activity_evidence, shop_rhythm, split_mixed_segments
from .algorithms import FitOutcome
from .choice import choose
from .features import aggregate_transactions, features_from_aggregates, used_features
from .fitting import fit_predictor
from .predictor import SegmentPredictor, data_fingerprint, library_versions
from .preprocess import Preprocessor
from .profiling import build_profiles
from .rfm import rfm_grid
from .selection import justify
from .sweep import sweep
from .types import (
    AGGREGATE_COLUMNS,
    ALL_FEATURES,
    CATEGORICAL_FEATURES,
    TRANSACTION_COLUMNS,
    Calibration,
    Candidate,
    Choice,
    FeatureTable,
    InvalidParameters,
    PcaProjection,
    SegmentationCancelled,
    SegmentationParams,
    SegmentationResult,
    ValueSummary,
)
from .validation import min_customers, validate_params
from .value import ASSIGNED_VALUE_COLUMNS, PER_CUSTOMER_COLUMNS, value_stage, with_value
from .vocabulary import ALGORITHM_LABELS

__all__ = [
    "Prepared",
    "ValueAhead",
    "describe_candidates",
    "finish",
    "min_customers",
    "prepare",
    "run_segmentation",
    "validate_params",
    "value_ahead",
]

ProgressFn = Callable[[str, float], None]
CancelFn = Callable[[], bool]


def run_segmentation(
    data: pd.DataFrame,
    params: SegmentationParams | None = None,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    calibration: Calibration | None = None,
) -> SegmentationResult:
    """Segment customers from transaction lines or from the customer aggregate table (with
    ``calibration``, the aggregates as of a holdout's first day, the value stage checks its
    forecast; lines allow the check without it)."""
    params = params or SegmentationParams()
    timings: dict[str, float] = {}
    clock = [time.perf_counter()]

    def step(stage: str, percent: float) -> None:
        if should_cancel is not None and should_cancel():
            raise SegmentationCancelled(f"cancelled at {stage} ({percent:.0f}%)")
        if progress is not None:
            progress(stage, float(percent))

    def lap(name: str) -> None:
        now = time.perf_counter()
        timings[name] = timings.get(name, 0.0) + now - clock[0]
        clock[0] = now

    step("validate", 0)
    validate_params(params)
    with threadpool_limits(limits=params.blas_threads):
        return _run(data, params, step, lap, timings, calibration)


def _run(
    data: pd.DataFrame,
    params: SegmentationParams,
    step: Callable[[str, float], None],
    lap: Callable[[str], None],
    timings: dict[str, float],
    calibration: Calibration | None,
) -> SegmentationResult:
    prepared = prepare(data, params, step, lap)
    candidates, outcomes = sweep(prepared.X, params, step, lap, timings, prepared.notes)
    return finish(prepared, candidates, outcomes, params, step, lap, timings, calibration)


@dataclass
class Prepared:
    """What every later stage reads: the feature table, the fitted preprocessor and its
    matrix, and the notes so far (the fan-out path stores it for the parts and the finish)."""

    table: FeatureTable
    agg: pd.DataFrame
    lines: pd.DataFrame | None
    used: tuple[str, ...]
    rhythm: ActivityRhythm
    pre: Preprocessor
    X: np.ndarray
    notes: list[str]

    @property
    def n(self) -> int:
        return len(self.X)


def prepare(
    data: pd.DataFrame,
    params: SegmentationParams,
    step: Callable[[str, float], None],
    lap: Callable[[str], None],
) -> Prepared:
    """Features and the preprocessed matrix (validated parameters expected)."""
    notes: list[str] = []
    step("features", 2)
    table, agg, lines = _feature_table(data, params, notes)
    feats = table.features
    n = len(feats)
    if n < min_customers(params):
        raise InvalidParameters(
            "k_max",
            f"{n} customers is too few for up to {params.k_max} segments "
            f"(need at least {min_customers(params)})",
        )
    used = used_features(feats, params.features, notes)
    rhythm = shop_rhythm(feats)
    lap("features")

    step("preprocess", 6)
    pre = _preprocessor(params, used)
    X = pre.fit_transform(feats)
    lap("preprocess")
    return Prepared(table, agg, lines, used, rhythm, pre, X, notes)


@dataclass(frozen=True)
class ValueAhead:
    """The value stage's outcome, which needs no candidate: a fanned-out run computes it as
    a part of its own, beside the candidates."""

    summary: ValueSummary | None
    per_customer: pd.DataFrame | None
    notes: tuple[str, ...]
    seconds: float

    @property
    def current(self) -> bool:
        """False when stored by earlier code without a column the finish now reads (a
        fanned-out run in flight across a deploy)."""
        columns = self.per_customer.columns if self.per_customer is not None else None
        return columns is None or set(PER_CUSTOMER_COLUMNS) <= set(columns)


def value_ahead(
    prepared: Prepared, params: SegmentationParams, calibration: Calibration | None
) -> ValueAhead:
    started = time.perf_counter()
    notes: list[str] = []
    summary, per_customer = value_stage(
        prepared.agg,
        prepared.table.reference_date,
        params,
        notes,
        lines=prepared.lines,
        calibration=calibration,
    )
    if per_customer is not None:
        # in the features' order: the finish aligns it to them four times, each a hash
        # lookup of every customer id when the orders differ (1.5 s at 1M)
        per_customer = per_customer.reindex(prepared.table.features.index)
    return ValueAhead(summary, per_customer, tuple(notes), time.perf_counter() - started)


def finish(
    prepared: Prepared,
    candidates: list[Candidate],
    outcomes: dict[str, FitOutcome],
    params: SegmentationParams,
    step: Callable[[str, float], None],
    lap: Callable[[str], None],
    timings: dict[str, float],
    calibration: Calibration | None,
    ahead: ValueAhead | None = None,
) -> SegmentationResult:
    """From the scored candidates to the result: choice, stability, predictor, profiles,
    value (``ahead`` when computed already), RFM grid and map."""
    table = prepared.table
    feats, used, rhythm = table.features, prepared.used, prepared.rhythm
    pre, X, notes = prepared.pre, prepared.X, prepared.notes
    n = len(feats)
    step("choose", 80)
    chosen, ranking, elbow, checked, stability = choose(
        X, candidates, outcomes, params, step, notes
    )
    lap("choose")

    step("predictor", 92)
    raw_model, label_map, segment_ids, n_segments, agreement = fit_predictor(
        X, pre, outcomes[chosen.key], notes
    )
    split_map = None
    if "recency_days" in used:
        segment_ids, split_map, split_notes = split_mixed_segments(
            feats, segment_ids, rhythm, params.min_segment_share
        )
        notes.extend(split_notes)
        n_segments = int(segment_ids.max()) + 1
    lap("predictor")

    # the value stage first: its P(alive) names activity when it validated on the holdout
    step("value", 94)
    if ahead is None:
        ahead = value_ahead(prepared, params, calibration)
    else:  # its work, done elsewhere
        timings["value"] = timings.get("value", 0.0) + ahead.seconds
    notes.extend(ahead.notes)
    value, per_customer = ahead.summary, ahead.per_customer
    p_alive = per_customer["p_alive"] if per_customer is not None else None
    rhythm = activity_evidence(rhythm, value.holdout if value is not None else None, feats, p_alive)
    lap("value")

    step("profiles", 95)
    rule_features = tuple(f for f in used if f not in CATEGORICAL_FEATURES)
    profiles = build_profiles(
        feats,
        segment_ids,
        rule_features,
        params.seed,
        rhythm=rhythm,
        p_alive=p_alive,
        money_prefix=params.money_prefix,
    )
    if per_customer is not None:
        profiles = with_value(profiles, per_customer, pd.Series(segment_ids, index=feats.index))
    names = tuple(p.name for p in profiles)
    lap("profiles")

    predictor = SegmentPredictor(
        pre,
        raw_model,
        label_map,
        names,
        metadata={
            "feature_names": list(used),
            "params": params.to_dict(),
            "algorithm": chosen.algorithm,
            "setting": chosen.setting,
            "n_segments": n_segments,
            "fingerprint": data_fingerprint(feats[list(used)]),
            "reference_date": table.reference_date.isoformat(),
            "trained_on": n,
            "surrogate_agreement": agreement,
            "versions": library_versions(),
            "created_at": datetime.now(UTC).isoformat(),
        },
        split_days=rhythm.active_days if split_map is not None else None,
        split_map=split_map,
    )
    _, confidence = predictor.predict_transformed(X)
    names_arr = np.asarray(names, dtype=object)
    assignments = pd.DataFrame(
        {
            "customer_id": feats.index.to_numpy(),
            "segment_id": segment_ids,
            "segment_name": names_arr[segment_ids],
            "confidence": confidence,
        }
    )
    if per_customer is not None:
        by_customer = per_customer.reindex(feats.index)
        for column in ASSIGNED_VALUE_COLUMNS:
            assignments[column] = by_customer[column].to_numpy()

    step("rfm", 96)
    grid = rfm_grid(feats, pd.Series(names_arr[segment_ids], index=feats.index))
    lap("rfm")

    step("pca", 98)
    pca_result = _pca(X, feats, segment_ids, params)
    lap("pca")

    justification = justify(
        chosen, ranking, elbow, candidates, params.practical_k, stability, checked
    )
    if split_map is not None:
        split = int((split_map[:, 0] != split_map[:, 1]).sum())
        which = "One of its segments" if split == 1 else f"{split} of its segments"
        verb = "mixes" if split == 1 else "mix"
        justification += (
            f" {which} {verb} active and inactive customers: split at "
            f"{rhythm.active_days:,.0f} days since the last purchase, giving {n_segments} "
            "segments whose names hold for their members."
        )
    choice = Choice(
        candidate=chosen,
        justification=justification,
        elbow_k=elbow,
        ranking=ranking,
        stability_checked=checked,
    )
    step("done", 100)
    return SegmentationResult(
        params=params,
        reference_date=table.reference_date,
        n_customers=n,
        excluded=dict(table.excluded),
        flagged=dict(table.flagged),
        features=feats,
        preprocessing=tuple(pre.steps),
        candidates=tuple(candidates),
        choice=choice,
        assignments=assignments,
        segments=tuple(profiles),
        rfm=grid,
        pca=pca_result,
        stability=stability,
        predictor=predictor,
        surrogate_agreement=agreement,
        notes=tuple(notes),
        timings=timings,
        activity=rhythm,
        value=value,
    )


def _feature_table(
    data: pd.DataFrame, params: SegmentationParams, notes: list[str]
) -> tuple[FeatureTable, pd.DataFrame, pd.DataFrame | None]:
    """Every feature of every kept customer, the aggregate table, and the lines if given."""
    cols = set(data.columns)
    lines = None
    if set(AGGREGATE_COLUMNS) <= cols:
        agg, ref = data, params.reference_date
        if params.lookback_days is not None:
            notes.append("lookback_days ignored: aggregates arrive already windowed")
    elif set(TRANSACTION_COLUMNS) - {"quantity", "unit_price"} <= cols:
        agg, ref = aggregate_transactions(data, params.reference_date, params.lookback_days)
        lines = data
    else:
        raise InvalidParameters(
            "data", "expected transaction lines or the customer aggregate table (see types.py)"
        )
    table = features_from_aggregates(agg, ref, ALL_FEATURES, params.non_positive_monetary)
    for reason, count in table.excluded.items():
        notes.append(f"{count:,} customers excluded: {reason.replace('_', ' ')}")
    for reason, count in table.flagged.items():
        notes.append(f"{count:,} customers kept but flagged: {reason.replace('_', ' ')}")
    return table, agg, lines


def _preprocessor(params: SegmentationParams, used: tuple[str, ...]) -> Preprocessor:
    low, high = params.cap_quantiles  # a list when the parameters came from JSON
    return Preprocessor(
        features=used,
        impute=params.impute,
        outliers=params.outliers,
        cap_quantiles=(low, high),
        scaler=params.scaler,
        country_encoding=params.country_encoding,
        rare_country_share=params.rare_country_share,
    )


def _pca(
    X: np.ndarray, feats: pd.DataFrame, segment_ids: np.ndarray, params: SegmentationParams
) -> PcaProjection:
    n = len(X)
    pca = PCA(n_components=2, random_state=params.seed).fit(X)
    rng = np.random.default_rng(params.seed)
    pidx = (
        np.sort(rng.choice(n, params.pca_sample_size, replace=False))
        if n > params.pca_sample_size
        else np.arange(n)
    )
    coords = pca.transform(X[pidx])
    ratio = np.pad(pca.explained_variance_ratio_, (0, 2))
    return PcaProjection(
        coordinates=pd.DataFrame(
            {
                "customer_id": feats.index.to_numpy()[pidx],
                "pc1": coords[:, 0],
                "pc2": coords[:, 1] if coords.shape[1] > 1 else 0.0,
                "segment_id": segment_ids[pidx],
            }
        ),
        explained_variance_ratio=(float(ratio[0]), float(ratio[1])),
    )


def describe_candidates(result: SegmentationResult) -> pd.DataFrame:
    """Compact candidate table for printing."""
    t = result.candidates_table()
    t["algorithm"] = t["algorithm"].map(ALGORITHM_LABELS)
    return t[
        [
            "algorithm",
            "setting",
            "n_clusters",
            "silhouette",
            "davies_bouldin",
            "calinski_harabasz",
            "eligible",
            "reason",
            "fit_seconds",
            "fitted_on",
        ]
    ]
