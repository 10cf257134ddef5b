"""The run parameters' rules: :func:`validate_params` is the one authority on what a run
accepts (the form, the serializer and the API call it)."""

from __future__ import annotations

from . import algorithms as alg
from .preprocess import ENCODINGS, IMPUTE, OUTLIERS, SCALERS
from .types import ALL_FEATURES, CATEGORICAL_FEATURES, InvalidParameters, SegmentationParams

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
    if not isinstance(params.value_horizon_days, int) or not 0 <= params.value_horizon_days <= 3650:
        raise InvalidParameters("value_horizon_days", "must be a whole number of days, 0-3650")
    if not 0 <= params.value_discount_rate < 1:
        raise InvalidParameters("value_discount_rate", "must be an annual rate in [0, 1)")
    if not 0 < params.value_margin <= 1:
        raise InvalidParameters("value_margin", "must be a share of revenue in (0, 1]")
    if not 0 < params.value_holdout_share < 1:
        raise InvalidParameters("value_holdout_share", "must be a share in (0, 1)")
    if params.blas_threads is not None and params.blas_threads < 1:
        raise InvalidParameters("blas_threads", "must be >= 1 or None")


def min_customers(params: SegmentationParams) -> int:
    return max(20, 10 * params.k_max)


def k_range(params: SegmentationParams) -> list[int]:
    return list(range(params.k_min, params.k_max + 1))
