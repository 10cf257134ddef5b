"""Eligibility of candidates, the elbow, and the automatic choice of algorithm and k.

The rule, in the words the justification uses:

1. A candidate is *eligible* when it has at least 2 segments, at most ``max_noise_share`` of
   customers in noise and no segment smaller than ``min_segment_share`` of customers.
2. Eligible candidates whose number of segments is inside the *practical range* (default 3-8:
   fewer is not actionable, more is not manageable for a marketing team) are ranked on each of
   Silhouette (high is good), Davies-Bouldin (low), Calinski-Harabasz (high) and closeness to
   the elbow (|k - knee of the algorithm's inertia/BIC curve|, K-Means' knee for algorithms
   without one).  The consensus score is the mean of the four ranks: the elbow is a fourth
   vote because Silhouette and Calinski-Harabasz alone drift towards the smallest k on
   heavy-tailed retail data.  Lowest consensus wins; ties go to the simpler algorithm
   (registry order), then to fewer segments.
3. A candidate outside the practical range (typically k=2, which on retail data mostly splits
   one-time buyers from the rest) is chosen only if it is first on all three metrics among all
   eligible candidates, i.e. the data clearly has that many groups.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from .knee import knee_index
from .types import (
    ALGORITHM_NAMES,
    MODERATE_ARI,
    STABILITY_WORDS,
    STABLE_ARI,
    Candidate,
    Stability,
)
from .vocabulary import ALGORITHM_LABELS


def eligibility(
    labels: np.ndarray, min_segment_share: float, max_noise_share: float
) -> tuple[int, float, float, bool, str]:
    """(n_clusters, noise_share, smallest segment share, eligible, reason)."""
    n = len(labels)
    noise = float(np.mean(labels < 0)) if n else 0.0
    sizes = np.bincount(labels[labels >= 0]) if (labels >= 0).any() else np.array([], int)
    sizes = sizes[sizes > 0]
    k = len(sizes)
    smallest = float(sizes.min() / n) if k else 0.0
    if k < 2:
        return k, noise, smallest, False, f"only {k} segment(s)"
    if noise > max_noise_share:
        return k, noise, smallest, False, f"{noise:.0%} noise > {max_noise_share:.0%}"
    if smallest < min_segment_share:
        return (
            k,
            noise,
            smallest,
            False,
            f"smallest segment {smallest:.2%} < {min_segment_share:.0%}",
        )
    return k, noise, smallest, True, ""


def elbows(candidates: list[Candidate]) -> dict[str, int]:
    """Knee of log(inertia) against k per algorithm with inertia; for GMM the k of the lowest
    BIC (BIC is not monotone in k, so a knee of it means nothing)."""
    out: dict[str, int] = {}
    for alg in ALGORITHM_NAMES:
        rows = sorted(
            ((c.k, c) for c in candidates if c.algorithm == alg and c.k is not None),
            key=lambda kc: kc[0],
        )
        bic = [(k, c.bic) for k, c in rows if c.bic is not None and np.isfinite(c.bic)]
        if bic:
            out[alg] = int(min(bic, key=lambda kv: kv[1])[0])
            continue
        # log(inertia): inertia falls multiplicatively, and on a linear scale the first big
        # drop hides a later elbow
        curve = [(k, np.log(c.inertia)) for k, c in rows if c.inertia is not None and c.inertia > 0]
        if len(curve) >= 3:
            ks, vals = zip(*curve, strict=True)
            out[alg] = int(ks[knee_index(np.array(vals), np.array(ks))])
    return out


#: Two values of a metric closer than this (relative to the larger) count as a tie, so that
#: algorithms finding near-identical partitions tie and a third decimal never decides.
METRIC_TOLERANCE = 0.03
#: An out-of-range k must beat the best in-range candidate by this much on every metric.
OUT_OF_RANGE_MARGIN = 0.10


def tolerant_rank(values: pd.Series, higher_is_better: bool) -> pd.Series:
    """1 + the number of values better by more than METRIC_TOLERANCE (relative)."""
    v = values.to_numpy(dtype=float)
    sign = 1.0 if higher_is_better else -1.0
    diff = sign * (v[None, :] - v[:, None])  # [i, j] > 0: j better than i
    scale = np.maximum(np.abs(v[None, :]), np.abs(v[:, None]))
    better = diff > METRIC_TOLERANCE * scale
    return pd.Series(1 + better.sum(axis=1), index=values.index, dtype=float)


def beats_by_margin(a: pd.Series, b: pd.Series) -> bool:
    """Row a better than row b on all three metrics by OUT_OF_RANGE_MARGIN (relative)."""
    m = OUT_OF_RANGE_MARGIN
    return bool(
        a["silhouette"] >= b["silhouette"] + m * abs(b["silhouette"])
        and a["davies_bouldin"] <= b["davies_bouldin"] - m * abs(b["davies_bouldin"])
        and a["calinski_harabasz"] >= b["calinski_harabasz"] * (1 + m)
    )


def rank_candidates(
    candidates: list[Candidate], practical_k: tuple[int, int]
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Ranking table of the eligible candidates, best first, and the elbows."""
    elbow = elbows(candidates)
    rows = [
        c
        for c in candidates
        if c.eligible and np.isfinite([c.silhouette, c.davies_bouldin, c.calinski_harabasz]).all()
    ]
    if not rows:
        return pd.DataFrame(), elbow
    t = pd.DataFrame(
        {
            "key": [c.key for c in rows],
            "algorithm": [c.algorithm for c in rows],
            "n_clusters": [c.n_clusters for c in rows],
            "silhouette": [c.silhouette for c in rows],
            "davies_bouldin": [c.davies_bouldin for c in rows],
            "calinski_harabasz": [c.calinski_harabasz for c in rows],
        }
    )
    order = {a: i for i, a in enumerate(ALGORITHM_NAMES)}
    t["algorithm_order"] = t["algorithm"].map(order)
    lo, hi = practical_k
    t["practical"] = t["n_clusters"].between(lo, hi)
    pool = t[t["practical"]] if t["practical"].any() else t
    t["silhouette_rank"] = tolerant_rank(pool["silhouette"], True)
    t["davies_bouldin_rank"] = tolerant_rank(pool["davies_bouldin"], False)
    t["calinski_harabasz_rank"] = tolerant_rank(pool["calinski_harabasz"], True)
    t["elbow_distance"] = [
        abs(k - elbow.get(a, elbow.get("kmeans", k)))
        for a, k in zip(t["algorithm"], t["n_clusters"], strict=True)
    ]
    t["elbow_rank"] = t.loc[pool.index, "elbow_distance"].rank(ascending=True, method="min")
    t["consensus"] = t[
        ["silhouette_rank", "davies_bouldin_rank", "calinski_harabasz_rank", "elbow_rank"]
    ].mean(axis=1)
    t["score"] = t["consensus"]
    # an out-of-range candidate competes only if it clearly beats the best in-range one
    t["wins_all_three"] = False
    if t["practical"].any():
        in_range = t[t["practical"]].sort_values(
            ["consensus", "algorithm_order", "n_clusters"], kind="stable"
        )
        best_in = in_range.iloc[0]
        clear = t.apply(lambda r: not r["practical"] and beats_by_margin(r, best_in), axis=1)
        t["wins_all_three"] = clear.astype(bool)
        t.loc[~t["practical"], "score"] = np.inf
        t.loc[t["wins_all_three"], "score"] = 0.0
    t = t.sort_values(["score", "algorithm_order", "n_clusters"], kind="stable").reset_index(
        drop=True
    )
    return t, elbow


def choose_stable(
    ranking: pd.DataFrame, measure: Callable[[str], float], max_checked: int = 4
) -> tuple[int, dict[str, float]]:
    """Position in ``ranking`` of the first candidate whose stability is >= STABLE_ARI.

    ``measure(key)`` returns a candidate's bootstrap stability.  The leading candidates are
    measured in ranking order (at most ``max_checked``; candidates ranked out by the range
    rule are not); if none is stable, the first moderately stable one wins, else the most
    stable.  Returns (position, {key: stability} of those measured)."""
    checked: dict[str, float] = {}
    finite = ranking[np.isfinite(ranking["score"])]
    for pos, key in enumerate(finite["key"].head(max_checked)):
        checked[key] = measure(key)
        if checked[key] >= STABLE_ARI:
            return pos, checked
    keys = list(checked)
    moderate = [k for k in keys if checked[k] >= MODERATE_ARI]
    best = moderate[0] if moderate else max(keys, key=lambda k: checked[k])
    return keys.index(best), checked


def _ordinal(r: float) -> str:
    r = int(r)
    return {1: "best", 2: "second", 3: "third"}.get(r, f"{r}th")


def justify(
    chosen: Candidate,
    ranking: pd.DataFrame,
    elbow: dict[str, int],
    candidates: list[Candidate],
    practical_k: tuple[int, int],
    stability: Stability | None,
    stability_checked: dict[str, float] | None = None,
) -> str:
    """A paragraph a manager can read."""
    label = ALGORITHM_LABELS.get(chosen.algorithm, chosen.algorithm)
    row = ranking[ranking["key"] == chosen.key].iloc[0] if len(ranking) else None
    parts = []
    if row is not None and row["practical"]:
        pool = int(ranking["practical"].sum())
        parts.append(
            f"{label}, {chosen.n_clusters} segments: {_ordinal(row['silhouette_rank'])} "
            f"Silhouette ({chosen.silhouette:.2f}), {_ordinal(row['davies_bouldin_rank'])} "
            f"Davies-Bouldin ({chosen.davies_bouldin:.2f}) and "
            f"{_ordinal(row['calinski_harabasz_rank'])} Calinski-Harabasz "
            f"({chosen.calinski_harabasz:,.0f}) among {pool} usable candidates with "
            f"{practical_k[0]}-{practical_k[1]} segments (values within "
            f"{METRIC_TOLERANCE:.0%} of each other count as ties); consensus rank "
            f"{row['consensus']:.1f} (mean of those three ranks and closeness to the elbow)."
        )
    elif row is not None:
        parts.append(
            f"{label}, {chosen.n_clusters} segments: outside the practical range "
            f"{practical_k[0]}-{practical_k[1]}, chosen because it beats the best candidate "
            f"inside it by at least {OUT_OF_RANGE_MARGIN:.0%} on all three measures "
            f"(Silhouette {chosen.silhouette:.2f}, Davies-Bouldin "
            f"{chosen.davies_bouldin:.2f}, Calinski-Harabasz {chosen.calinski_harabasz:,.0f})."
        )
    else:
        parts.append(
            f"{label}, {chosen.n_clusters} segments: no candidate met the eligibility rules, "
            "so this is the best available by Silhouette; treat it with caution."
        )
    if "kmeans" in elbow:
        parts.append(f"The elbow of the K-Means error curve is at k={elbow['kmeans']}.")
    elif chosen.algorithm in elbow:
        parts.append(f"The elbow of its error curve is at k={elbow[chosen.algorithm]}.")
    if "gmm" in elbow:
        parts.append(f"The Gaussian Mixture's BIC is lowest at k={elbow['gmm']}.")
    outside = ranking[~ranking["practical"]] if len(ranking) else ranking
    if len(outside) and not (row is not None and not row["practical"]):
        parts.append(
            f"No k outside {practical_k[0]}-{practical_k[1]} beat the best inside by "
            f"{OUT_OF_RANGE_MARGIN:.0%} on all three measures."
        )
    bad = [c for c in candidates if not c.eligible]
    if bad:
        kinds = pd.Series(
            [
                "a segment under the minimum size"
                if "smallest" in c.reason
                else "too much noise"
                if "noise" in c.reason
                else "the same segments as a simpler candidate"
                if "same segments" in c.reason
                else "a single segment"
                for c in bad
            ]
        )
        parts.append(
            f"{len(bad)} of {len(candidates)} candidates were set aside (most often for "
            f"{kinds.mode().iloc[0]})."
        )
    checked = stability_checked or {}
    passed_over = [k for k in checked if k != chosen.key]
    if passed_over:
        listed = ", ".join(f"{_key_words(k)} ({checked[k]:.2f})" for k in passed_over)
        parts.append(
            f"Stability was measured before choosing: ranked higher but less stable, "
            f"{listed} were passed over (stable means a mean adjusted Rand index of at "
            f"least {STABLE_ARI:.2f} across bootstrap resamples)."
        )
    if stability is not None and stability.scores:
        words = STABILITY_WORDS[stability.verdict]
        sentence = (
            f"Refitting on {len(stability.scores)} bootstrap resamples gives a mean adjusted "
            f"Rand index of {stability.mean_adjusted_rand:.2f}: {words}."
        )
        if stability.verdict == "unstable":
            sentence = (
                f"WARNING, UNSTABLE: {sentence} No candidate reached {MODERATE_ARI:.2f}; "
                "the segments may change on a re-run. Do not publish without review."
            )
        elif stability.verdict == "moderate":
            sentence += f" No candidate reached {STABLE_ARI:.2f}; review the segments before use."
        parts.append(sentence)
    if chosen.fitted_on and chosen.silhouette_sampled:
        parts.append("Silhouette was computed on a random sample of customers.")
    return " ".join(parts)


def _key_words(key: str) -> str:
    algorithm, _, setting = key.partition(":")
    k = setting.split(",")[0].split("=")[-1]
    return f"{ALGORITHM_LABELS.get(algorithm, algorithm)} k={k}"
