"""The one entry point: :func:`run_segmentation`.

Stages and the progress percentages reported through ``progress(stage, percent)``:
validate 0, features 2, preprocess 6, candidates 8-80 (after every candidate), choose 82,
predictor 84, stability 86-92, profiles 94, rfm 96, pca 98, done 100.  ``should_cancel()``
is polled at every one of those points; when it returns true the run stops with
:class:`SegmentationCancelled`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from . import algorithms as alg
from .features import aggregate_transactions, features_from_aggregates
from .metrics import SilhouetteScorer, cluster_scores
from .predictor import SegmentPredictor, data_fingerprint, library_versions
from .preprocess import ENCODINGS, IMPUTE, OUTLIERS, SCALERS, Preprocessor
from .profiling import build_profiles
from .rfm import rfm_grid
from .selection import LABELS, eligibility, justify, rank_candidates
from .types import (
    AGGREGATE_COLUMNS,
    ALL_FEATURES,
    CATEGORICAL_FEATURES,
    TRANSACTION_COLUMNS,
    Candidate,
    Choice,
    InvalidParameters,
    PcaProjection,
    SegmentationCancelled,
    SegmentationParams,
    SegmentationResult,
    Stability,
)

ProgressFn = Callable[[str, float], None]
CancelFn = Callable[[], bool]
STABLE_ARI = 0.6
MAX_K = 30


def validate_params(params: SegmentationParams) -> None:
    """Raise InvalidParameters for the first unacceptable field."""
    if not isinstance(params.k_min, int) or params.k_min < 2:
        raise InvalidParameters("k_min", "must be an integer >= 2")
    if not isinstance(params.k_max, int) or params.k_max < params.k_min:
        raise InvalidParameters("k_max", "must be an integer >= k_min")
    if params.k_max > MAX_K:
        raise InvalidParameters("k_max", f"must be <= {MAX_K}: more segments are not usable")
    if not params.algorithms:
        raise InvalidParameters("algorithms", "choose at least one algorithm")
    unknown = [a for a in params.algorithms if a not in alg.REGISTRY]
    if unknown:
        raise InvalidParameters("algorithms", f"unknown {unknown}; known: {sorted(alg.REGISTRY)}")
    if len(set(params.algorithms)) != len(params.algorithms):
        raise InvalidParameters("algorithms", "listed more than once")
    if not params.features:
        raise InvalidParameters("features", "choose at least one feature")
    bad = [f for f in params.features if f not in ALL_FEATURES]
    if bad:
        raise InvalidParameters("features", f"unknown {bad}; known: {list(ALL_FEATURES)}")
    if all(f in CATEGORICAL_FEATURES for f in params.features):
        raise InvalidParameters("features", "need at least one numeric feature")
    if not isinstance(params.seed, int) or params.seed < 0:
        raise InvalidParameters("seed", "must be a non-negative integer")
    for name, allowed in (
        ("impute", IMPUTE),
        ("outliers", OUTLIERS),
        ("scaler", SCALERS),
        ("country_encoding", ENCODINGS),
        ("non_positive_monetary", ("exclude", "keep")),
    ):
        if getattr(params, name) not in allowed:
            raise InvalidParameters(name, f"must be one of {allowed}")
    for name in ("min_segment_share", "max_noise_share", "rare_country_share"):
        v = getattr(params, name)
        if not 0 <= v < 1:
            raise InvalidParameters(name, "must be a share in [0, 1)")
    if params.min_segment_share * params.k_min > 1:
        raise InvalidParameters(
            "min_segment_share", f"must be at most 1/k_min ({1 / params.k_min:.3g})"
        )
    lo, hi = params.practical_k
    if not 2 <= lo <= hi:
        raise InvalidParameters("practical_k", "need 2 <= low <= high")
    q_lo, q_hi = params.cap_quantiles
    if not 0 <= q_lo < q_hi <= 1:
        raise InvalidParameters("cap_quantiles", "need 0 <= low < high <= 1")
    if params.lookback_days is not None and params.lookback_days <= 0:
        raise InvalidParameters("lookback_days", "must be positive (or None for all history)")
    for name, least in (
        ("silhouette_sample_size", 100),
        ("quadratic_sample_size", 100),
        ("linear_sample_size", 1000),
        ("pca_sample_size", 10),
        ("stability_sample_size", 100),
    ):
        if getattr(params, name) < least:
            raise InvalidParameters(name, f"must be >= {least}")
    if params.stability_resamples < 0 or params.stability_resamples > 50:
        raise InvalidParameters("stability_resamples", "must be between 0 and 50")
    if params.blas_threads is not None and params.blas_threads < 1:
        raise InvalidParameters("blas_threads", "must be >= 1 or None")


def min_customers(params: SegmentationParams) -> int:
    return max(20, 10 * params.k_max)


def _k_range(params: SegmentationParams) -> list[int]:
    return list(range(params.k_min, params.k_max + 1))


def run_segmentation(
    data: pd.DataFrame,
    params: SegmentationParams | None = None,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
) -> SegmentationResult:
    """Segment customers from transaction lines or from the customer aggregate table."""
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
        return _run(data, params, step, lap, timings)


def _run(data, params, step, lap, timings) -> SegmentationResult:
    notes: list[str] = []
    cols = set(data.columns)
    step("features", 2)
    if set(AGGREGATE_COLUMNS) <= cols:
        agg, ref = data, params.reference_date
        if params.lookback_days is not None:
            notes.append("lookback_days ignored: aggregates arrive already windowed")
    elif set(TRANSACTION_COLUMNS) - {"quantity", "unit_price"} <= cols:
        agg, ref = aggregate_transactions(data, params.reference_date, params.lookback_days)
    else:
        raise InvalidParameters(
            "data", "expected transaction lines or the customer aggregate table (see types.py)"
        )
    table = features_from_aggregates(agg, ref, ALL_FEATURES, params.non_positive_monetary)
    feats = table.features
    for reason, count in table.excluded.items():
        notes.append(f"{count:,} customers excluded: {reason.replace('_', ' ')}")
    for reason, count in table.flagged.items():
        notes.append(f"{count:,} customers kept but flagged: {reason.replace('_', ' ')}")
    n = len(feats)
    if n < min_customers(params):
        raise InvalidParameters(
            "k_max",
            f"{n} customers is too few for up to {params.k_max} segments "
            f"(need at least {min_customers(params)})",
        )
    lap("features")

    step("preprocess", 6)
    pre = Preprocessor(
        features=tuple(params.features),
        impute=params.impute,
        outliers=params.outliers,
        cap_quantiles=tuple(params.cap_quantiles),
        scaler=params.scaler,
        country_encoding=params.country_encoding,
        rare_country_share=params.rare_country_share,
    )
    X = pre.fit_transform(feats)
    lap("preprocess")

    # ---------------------------------------------------------------- candidates
    ks = [k for k in _k_range(params) if k < n]
    ctx = alg.SweepContext(
        params.seed, params.quadratic_sample_size, params.linear_sample_size, max(ks)
    )
    scorer = SilhouetteScorer(X, params.silhouette_sample_size, params.seed)
    if scorer.sampled:
        notes.append(
            f"Silhouette computed on a seeded sample of {len(scorer.index):,} of {n:,} customers"
        )
    lap("silhouette_matrix")
    total = sum(
        len(alg.DBSCAN_EPS_FACTORS) if not alg.REGISTRY[a].takes_k else len(ks)
        for a in params.algorithms
    )
    done = 0
    candidates: list[Candidate] = []
    outcomes: dict[str, alg.FitOutcome] = {}
    step("candidates", 8)
    for name in params.algorithms:
        spec = alg.REGISTRY[name]
        for out in spec.sweep(X, ks, ctx):
            t = time.perf_counter()
            k_found, noise, smallest, ok, reason = eligibility(
                out.labels, params.min_segment_share, params.max_noise_share
            )
            if k_found >= 2:
                sil = scorer.score(out.labels)
                db, ch = cluster_scores(X, out.labels)
            else:
                sil = db = ch = float("nan")
            cand = Candidate(
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
            candidates.append(cand)
            out.labels = out.labels.astype(np.int16)
            outcomes[cand.key] = out
            timings["metrics"] = timings.get("metrics", 0.0) + time.perf_counter() - t
            done += 1
            step(f"candidates:{cand.key}", 8 + 72 * done / total)
    lap("candidates")
    for name in params.algorithms:
        spec = alg.REGISTRY[name]
        if spec.scaling == "quadratic_sample" and n > params.quadratic_sample_size:
            notes.append(
                f"{spec.label} ran on a seeded sample of {params.quadratic_sample_size:,} "
                f"customers; the others got the majority segment of their "
                f"{alg.SURROGATE_NEIGHBOURS} nearest sampled customers"
            )
        if spec.scaling == "linear_sample" and n > params.linear_sample_size:
            notes.append(
                f"{spec.label} was fitted on a seeded sample of {params.linear_sample_size:,} "
                "customers and predicts everyone"
            )

    # ---------------------------------------------------------------- choose
    step("choose", 82)
    ranking, elbow = rank_candidates(candidates, params.practical_k)
    if len(ranking):
        chosen = next(c for c in candidates if c.key == ranking.iloc[0]["key"])
    else:
        usable = [c for c in candidates if np.isfinite(c.silhouette)]
        if not usable:
            raise InvalidParameters("algorithms", "no candidate produced 2 or more segments")
        chosen = max(usable, key=lambda c: c.silhouette)
        notes.append("no candidate met the eligibility rules; best Silhouette used")
    outcome = outcomes[chosen.key]
    lap("choose")

    # ---------------------------------------------------------------- predictor
    step("predictor", 84)
    raw_model = dict(outcome.model)
    n_raw = _n_model_labels(raw_model)
    raw_labels, _ = SegmentPredictor(pre, raw_model, np.arange(n_raw)).predict_transformed(X)
    sizes = np.bincount(raw_labels, minlength=n_raw)
    if (sizes == 0).any() and raw_model["kind"] in ("centroids", "gaussian"):
        # a component no customer belongs to: drop it so new customers cannot land there
        raw_model = _drop_components(raw_model, sizes > 0)
        notes.append(f"{int((sizes == 0).sum())} empty model component(s) dropped")
        n_raw = _n_model_labels(raw_model)
        raw_labels, _ = SegmentPredictor(pre, raw_model, np.arange(n_raw)).predict_transformed(X)
        sizes = np.bincount(raw_labels, minlength=n_raw)
    order = np.lexsort((np.arange(n_raw), -sizes))  # biggest segment = 0
    label_map = np.empty(n_raw, dtype=np.int64)
    label_map[order] = np.arange(n_raw)
    n_segments = int((sizes > 0).sum())
    label_map[sizes[np.arange(n_raw)] == 0] = 0  # surrogate labels nobody got: largest segment
    segment_ids = label_map[raw_labels]
    fit_rows = np.arange(n) if outcome.fit_index is None else outcome.fit_index
    own = outcome.fit_labels
    valid = own >= 0
    agreement = float(np.mean(raw_labels[fit_rows][valid] == own[valid])) if valid.any() else 0.0
    lap("predictor")

    # ---------------------------------------------------------------- stability
    grid_position = [c.key for c in candidates if c.algorithm == chosen.algorithm].index(chosen.key)
    stability = _stability(X, chosen, grid_position, segment_ids, params, step)
    lap("stability")

    # ---------------------------------------------------------------- profiles
    step("profiles", 94)
    profiles = build_profiles(
        feats,
        segment_ids,
        tuple(f for f in params.features if f not in CATEGORICAL_FEATURES),
        params.seed,
    )
    names = tuple(p.name for p in profiles)
    lap("profiles")

    fingerprint = data_fingerprint(feats[list(params.features)])
    predictor = SegmentPredictor(
        pre,
        raw_model,
        label_map,
        names,
        metadata={
            "feature_names": list(params.features),
            "params": params.to_dict(),
            "algorithm": chosen.algorithm,
            "setting": chosen.setting,
            "n_segments": n_segments,
            "fingerprint": fingerprint,
            "reference_date": table.reference_date.isoformat(),
            "trained_on": n,
            "surrogate_agreement": agreement,
            "versions": library_versions(),
            "created_at": datetime.now(UTC).isoformat(),
        },
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

    step("rfm", 96)
    grid = rfm_grid(feats, pd.Series(names_arr[segment_ids], index=feats.index))
    lap("rfm")

    step("pca", 98)
    pca = PCA(n_components=2, random_state=params.seed).fit(X)
    rng = np.random.default_rng(params.seed)
    pidx = (
        np.sort(rng.choice(n, params.pca_sample_size, replace=False))
        if n > params.pca_sample_size
        else np.arange(n)
    )
    coords = pca.transform(X[pidx])
    pca_result = PcaProjection(
        coordinates=pd.DataFrame(
            {
                "customer_id": feats.index.to_numpy()[pidx],
                "pc1": coords[:, 0],
                "pc2": coords[:, 1] if coords.shape[1] > 1 else 0.0,
                "segment_id": segment_ids[pidx],
            }
        ),
        explained_variance_ratio=tuple(
            float(v) for v in np.pad(pca.explained_variance_ratio_, (0, 2))[:2]
        ),
    )
    lap("pca")

    choice = Choice(
        candidate=chosen,
        justification=justify(chosen, ranking, elbow, candidates, params.practical_k, stability),
        elbow_k=elbow,
        ranking=ranking,
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
    )


def _drop_components(model: dict, keep: np.ndarray) -> dict:
    model = dict(model)
    if model["kind"] == "centroids":
        model["centers"] = model["centers"][keep]
    else:
        model["means"] = model["means"][keep]
        model["precisions_cholesky"] = model["precisions_cholesky"][keep]
        model["weights"] = model["weights"][keep] / model["weights"][keep].sum()
    return model


def _n_model_labels(model: dict) -> int:
    kind = model["kind"]
    if kind == "centroids":
        return len(model["centers"])
    if kind == "gaussian":
        return len(model["means"])
    return int(model["labels"].max()) + 1


def _stability(X, chosen: Candidate, grid_position: int, segment_ids, params, step) -> Stability:
    """Mean ARI between the chosen labels and refits on seeded bootstrap resamples."""
    B = params.stability_resamples
    if B == 0:
        return Stability(float("nan"), (), 0, True)
    n = len(X)
    m = min(n, params.stability_sample_size)
    spec = alg.REGISTRY[chosen.algorithm]
    scores = []
    for b in range(B):
        step("stability", 86 + 6 * b / B)
        rng = np.random.default_rng(params.seed + 1000 + b)
        rows = np.unique(rng.choice(n, size=m, replace=True))
        ctx = alg.SweepContext(
            params.seed + 1000 + b,
            params.quadratic_sample_size,
            params.linear_sample_size,
            chosen.k or 2,
        )
        ks = [chosen.k] if chosen.k is not None else [2]
        outs = list(spec.sweep(X[rows], ks, ctx))
        # DBSCAN yields one outcome per eps factor: take the chosen one's position
        out = outs[min(grid_position, len(outs) - 1)] if chosen.k is None else outs[0]
        scores.append(float(adjusted_rand_score(segment_ids[rows], out.labels)))
    mean = float(np.mean(scores))
    return Stability(mean, tuple(scores), m, mean >= STABLE_ARI)


def describe_candidates(result: SegmentationResult) -> pd.DataFrame:
    """Compact candidate table for printing."""
    t = result.candidates_table()
    t["algorithm"] = t["algorithm"].map(LABELS)
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
