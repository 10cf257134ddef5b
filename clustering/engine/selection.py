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

import numpy as np
import pandas as pd

from .knee import knee_index
from .types import ALGORITHM_NAMES, Candidate, Stability

LABELS = {
    "kmeans": "K-Means",
    "minibatch_kmeans": "MiniBatch K-Means",
    "gmm": "Gaussian Mixture",
    "dbscan": "DBSCAN",
    "agglomerative": "Agglomerative (ward)",
    "birch": "Birch",
    "spectral": "Spectral",
}


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
    """Knee of inertia against k per algorithm that has inertia (BIC for GMM)."""
    out: dict[str, int] = {}
    for alg in ALGORITHM_NAMES:
        rows = sorted(
            (c for c in candidates if c.algorithm == alg and c.k is not None), key=lambda c: c.k
        )
        # log(inertia): inertia falls multiplicatively, and on a linear scale the first big
        # drop hides a later elbow.  BIC can be negative, so it stays linear.
        curve = [
            (c.k, np.log(c.inertia) if c.inertia is not None and c.inertia > 0 else c.bic)
            for c in rows
        ]
        curve = [(k, v) for k, v in curve if v is not None and np.isfinite(v)]
        if len(curve) >= 3:
            ks, vals = zip(*curve, strict=True)
            out[alg] = int(ks[knee_index(np.array(vals), np.array(ks))])
    return out


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
    # rank on rounded values, so that algorithms finding the same partition tie (and the
    # simpler algorithm wins) instead of differing in the 12th decimal
    t["silhouette_rank"] = pool["silhouette"].round(3).rank(ascending=False, method="min")
    t["davies_bouldin_rank"] = pool["davies_bouldin"].round(3).rank(ascending=True, method="min")
    ch = pool["calinski_harabasz"]
    ch_rounded = ch.apply(lambda v: float(f"{v:.4g}"))
    t["calinski_harabasz_rank"] = ch_rounded.rank(ascending=False, method="min")
    t["elbow_distance"] = [
        abs(k - elbow.get(a, elbow.get("kmeans", k)))
        for a, k in zip(t["algorithm"], t["n_clusters"], strict=True)
    ]
    t["elbow_rank"] = t.loc[pool.index, "elbow_distance"].rank(ascending=True, method="min")
    t["consensus"] = t[
        ["silhouette_rank", "davies_bouldin_rank", "calinski_harabasz_rank", "elbow_rank"]
    ].mean(axis=1)
    # overall ranks, to let an out-of-range candidate win only if first on all three
    sil, db = t["silhouette"].round(3), t["davies_bouldin"].round(3)
    chr_ = t["calinski_harabasz"].apply(lambda v: float(f"{v:.4g}"))
    all_first = (sil == sil.max()) & (db == db.min()) & (chr_ == chr_.max())
    t["wins_all_three"] = all_first
    t["score"] = t["consensus"]
    t.loc[~t["practical"] & t["practical"].any(), "score"] = np.inf
    t.loc[all_first & ~t["practical"], "score"] = 0.0
    t = t.sort_values(["score", "algorithm_order", "n_clusters"], kind="stable").reset_index(
        drop=True
    )
    return t, elbow


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
) -> str:
    """A paragraph a manager can read."""
    label = LABELS.get(chosen.algorithm, chosen.algorithm)
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
            f"{practical_k[0]}-{practical_k[1]} segments; consensus rank {row['consensus']:.1f} "
            "(mean of those three ranks and closeness to the elbow)."
        )
    elif row is not None:
        parts.append(
            f"{label}, {chosen.n_clusters} segments: outside the practical range "
            f"{practical_k[0]}-{practical_k[1]}, chosen because it is best on all three "
            f"measures (Silhouette {chosen.silhouette:.2f}, Davies-Bouldin "
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
    bad = [c for c in candidates if not c.eligible]
    if bad:
        kinds = pd.Series(
            [
                "a segment under the minimum size"
                if "smallest" in c.reason
                else "too much noise"
                if "noise" in c.reason
                else "a single segment"
                for c in bad
            ]
        )
        parts.append(
            f"{len(bad)} of {len(candidates)} candidates were set aside (most often for "
            f"{kinds.mode().iloc[0]})."
        )
    if stability is not None:
        verdict = "stable" if stability.stable else "UNSTABLE - review before use"
        parts.append(
            f"Refitting on {len(stability.scores)} bootstrap resamples gives a mean adjusted "
            f"Rand index of {stability.mean_adjusted_rand:.2f} ({verdict})."
        )
    if chosen.fitted_on and chosen.silhouette_sampled:
        parts.append("Silhouette was computed on a random sample of customers.")
    return " ".join(parts)
