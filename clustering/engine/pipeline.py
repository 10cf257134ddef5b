"""The one entry point: :func:`run_segmentation`.

Stages and the progress percentages reported through ``progress(stage, percent)``:
validate 0, features 2, preprocess 6, candidates 8-78 (after every candidate), choose 80,
stability 80-92 (the leading candidates, before the choice), predictor 92, profiles 94,
rfm 96, pca 98, done 100.  ``should_cancel()``
is polled at every one of those points; when it returns true the run stops with
:class:`SegmentationCancelled`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from . import algorithms as alg
from .features import aggregate_transactions, features_from_aggregates, used_features
from .metrics import SilhouetteScorer, cluster_scores
from .naming import shop_rhythm, split_mixed_segments
from .predictor import SegmentPredictor, data_fingerprint, library_versions
from .preprocess import ENCODINGS, IMPUTE, OUTLIERS, SCALERS, Preprocessor
from .profiling import build_profiles
from .rfm import rfm_grid
from .selection import LABELS, choose_stable, eligibility, justify, rank_candidates
from .types import (
    AGGREGATE_COLUMNS,
    ALL_FEATURES,
    CATEGORICAL_FEATURES,
    STABLE_ARI,
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
MAX_K = 30
MEASURE_SEED = alg.SAMPLE_SEED
#: Two candidates with the same number of segments and labels this close are one partition.
SAME_PARTITION_ARI = 0.95


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
    step("features", 2)
    table = _feature_table(data, params, notes)
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

    candidates, outcomes = _sweep(X, params, step, lap, timings, notes)
    step("choose", 80)
    chosen, ranking, elbow, checked, stability = _choose(
        X, candidates, outcomes, params, step, notes
    )
    lap("choose")

    step("predictor", 92)
    raw_model, label_map, segment_ids, n_segments, agreement = _fit_predictor(
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

    step("profiles", 94)
    rule_features = tuple(f for f in used if f not in CATEGORICAL_FEATURES)
    profiles = build_profiles(feats, segment_ids, rule_features, params.seed, rhythm=rhythm)
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
        justification += (
            f" {len(set(split_map[:, 0]) ^ set(split_map[:, 1])) // 2} of its segments mixed "
            f"active and inactive customers and were split at {rhythm.active_days:,.0f} days "
            f"since the last purchase, giving {n_segments} segments whose names hold for "
            "their members."
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
    )


def _feature_table(data: pd.DataFrame, params: SegmentationParams, notes: list[str]):
    """Every feature of every kept customer, from lines or from the aggregate table."""
    cols = set(data.columns)
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
    for reason, count in table.excluded.items():
        notes.append(f"{count:,} customers excluded: {reason.replace('_', ' ')}")
    for reason, count in table.flagged.items():
        notes.append(f"{count:,} customers kept but flagged: {reason.replace('_', ' ')}")
    return table


def _preprocessor(params: SegmentationParams, used: tuple[str, ...]) -> Preprocessor:
    return Preprocessor(
        features=used,
        impute=params.impute,
        outliers=params.outliers,
        cap_quantiles=tuple(params.cap_quantiles),
        scaler=params.scaler,
        country_encoding=params.country_encoding,
        rare_country_share=params.rare_country_share,
    )


def _sweep(X, params, step, lap, timings, notes):
    """Fit and score every candidate; near-identical partitions are set aside."""
    n = len(X)
    ks = [k for k in _k_range(params) if k < n]
    ctx = alg.SweepContext(
        params.seed, params.quadratic_sample_size, params.linear_sample_size, max(ks)
    )
    scorer = SilhouetteScorer(X, params.silhouette_sample_size, MEASURE_SEED)
    if scorer.sampled:
        notes.append(f"Silhouette computed on a sample of {len(scorer.index):,} of {n:,} customers")
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
            cand = _score(X, name, out, scorer, params)
            candidates.append(cand)
            out.labels = out.labels.astype(np.int16)
            outcomes[cand.key] = out
            timings["metrics"] = timings.get("metrics", 0.0) + time.perf_counter() - t
            done += 1
            step(f"candidates:{cand.key}", 8 + 70 * done / total)
    lap("candidates")
    candidates = set_aside_duplicates(candidates, outcomes, scorer.index)
    notes.extend(alg.sampling_notes(params.algorithms, n, ctx))
    return candidates, outcomes


def _score(X, name: str, out: alg.FitOutcome, scorer: SilhouetteScorer, params) -> Candidate:
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
                    reason=f"same segments as {LABELS[twin.algorithm]} ({twin.setting})",
                )
            else:
                kept.append(c)
        out.append(c)
    return out


def _choose(X, candidates, outcomes, params, step, notes):
    """Rank, then measure the leaders' stability and take the first stable one."""
    ranking, elbow = rank_candidates(candidates, params.practical_k)
    by_key = {c.key: c for c in candidates}
    if not len(ranking):
        usable = [c for c in candidates if np.isfinite(c.silhouette)]
        if not usable:
            raise InvalidParameters("algorithms", "no candidate produced 2 or more segments")
        chosen = max(usable, key=lambda c: c.silhouette)
        notes.append("no candidate met the eligibility rules; best Silhouette used")
        stability = _stability(X, chosen, candidates, outcomes, params, step)
        return chosen, ranking, elbow, {}, stability

    measured: dict[str, Stability] = {}

    def measure(key: str) -> float:
        step("stability", 80 + 3 * len(measured))
        measured[key] = _stability(X, by_key[key], candidates, outcomes, params, step)
        return measured[key].mean_adjusted_rand

    if params.stability_resamples == 0:
        chosen = by_key[ranking.iloc[0]["key"]]
        return chosen, ranking, elbow, {}, _stability(X, chosen, candidates, outcomes, params, step)
    position, checked = choose_stable(ranking, measure)
    chosen = by_key[list(checked)[position]]
    return chosen, ranking, elbow, checked, measured[chosen.key]


def _fit_predictor(X, pre, outcome: alg.FitOutcome, notes: list[str]):
    """The chosen model as a predictor: labels renumbered biggest first, empty components
    dropped, and how often it agrees with the algorithm's own labels."""
    n = len(X)
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
    agreement = surrogate_agreement(raw_model, X, fit_rows, outcome.fit_labels, raw_labels)
    return raw_model, label_map, segment_ids, n_segments, agreement


def surrogate_agreement(model, X, fit_rows, own, predicted) -> float:
    """Share of the fit rows where the predictor gives the algorithm's own label.  For the
    nearest-neighbour surrogate each fit row is left out of its own vote (it is one of the
    stored points, and would otherwise vote for itself)."""
    valid = own >= 0
    if not valid.any():
        return 0.0
    if model["kind"] != "knn":
        return float(np.mean(predicted[fit_rows][valid] == own[valid]))
    points, labels = model["points"], model["labels"]  # the valid fit rows, in order
    m = min(alg.SURROGATE_NEIGHBOURS + 1, len(points))
    _, nb = cKDTree(points).query(points, k=m)
    nb = nb.reshape(len(points), m)
    self_pos = np.arange(len(points))[:, None]
    is_self = nb == self_pos
    # drop the row itself (or, where duplicates hid it, the farthest neighbour)
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), m - 1)
    keep = np.ones_like(nb, dtype=bool)
    keep[np.arange(len(nb)), drop] = False
    others = nb[keep].reshape(len(nb), m - 1)
    votes, _ = alg.knn_vote(labels[others])
    return float(np.mean(votes == labels))


def _pca(X, feats, segment_ids, params) -> PcaProjection:
    n = len(X)
    pca = PCA(n_components=2, random_state=params.seed).fit(X)
    rng = np.random.default_rng(params.seed)
    pidx = (
        np.sort(rng.choice(n, params.pca_sample_size, replace=False))
        if n > params.pca_sample_size
        else np.arange(n)
    )
    coords = pca.transform(X[pidx])
    return PcaProjection(
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


def _stability(X, cand: Candidate, candidates, outcomes, params, step) -> Stability:
    """Mean ARI between a candidate's labels and refits on bootstrap resamples.  Resamples
    are drawn with MEASURE_SEED, so runs on the same data are judged on the same resamples;
    the refits use the run's seed."""
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
        rng = np.random.default_rng(MEASURE_SEED + 1000 + b)
        rows = np.unique(rng.choice(n, size=m, replace=True))
        ctx = alg.SweepContext(
            params.seed + 1000 + b,
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
