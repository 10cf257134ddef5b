"""One registry of the seven clustering algorithms and their parameter grids.

Each algorithm is a generator ``sweep(X, ks, ctx)`` that yields one :class:`FitOutcome` per
candidate, so the pipeline can report progress and honour cancellation between candidates.
Work that does not depend on k is done once per algorithm and its cost is spread evenly over
the candidates' ``fit_seconds``:

* Agglomerative (ward): one scipy ward tree, cut at every k.
* Spectral: one kNN-affinity spectral embedding with ``k_max`` eigenvectors, then k-means on
  the first k of them (what ``SpectralClustering`` does per k).
* Birch: one CF tree (threshold tuned so it has at least ``4 * k_max`` subclusters), then
  Birch's own global step (agglomerative on subcluster centres) per k.

Scale: Agglomerative, Spectral and DBSCAN are quadratic; above ``quadratic_sample_size`` rows
they run on one seeded sample and every other customer gets the majority label of its 5
nearest sample points (the same kNN surrogate the predictor uses).  GMM and Birch fit on a
seeded sample above ``linear_sample_size`` and predict everyone.  K-Means fits on everyone up
to ``KMEANS_FIT_AT_MOST`` rows and MiniBatch K-Means up to ``MINIBATCH_FIT_AT_MOST``, above
that on a seeded sample, and every row takes its nearest centre.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial import cKDTree
from sklearn.cluster import DBSCAN, AgglomerativeClustering, Birch, KMeans, MiniBatchKMeans
from sklearn.manifold import spectral_embedding
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors, kneighbors_graph

from .assign import gaussian_log_resp, knn_vote
from .knee import knee_index
from .vocabulary import ALGORITHM_LABELS

SURROGATE_NEIGHBOURS = 5
#: Samples of customers (for the quadratic and sampled algorithms, Silhouette, stability
#: resamples) are drawn with this seed, not the run's: the same data is always judged on the
#: same customers, and the run's seed only starts the algorithms.
SAMPLE_SEED = 20_240_601
#: Restarts of the mixture fitted on its sample: with 1, its fits moved with the seed and
#: reordered K-Means' ranks on a 400k shop (docs/decisions/kmeans-on-a-sample-of-large-shops.md).
#: Fitted on every row (small shops) it keeps 1: 3 cost Online Retail a third of its sweep
#: and moved no choice there.
GMM_RESTARTS = 3
DBSCAN_EPS_FACTORS = (0.8, 1.0, 1.25)


@dataclass
class FitOutcome:
    algorithm: str
    k: int | None
    setting: str
    labels: np.ndarray  # for every row of X; -1 = noise
    fitted_on: int
    fit_seconds: float
    inertia: float | None = None
    bic: float | None = None
    model: dict[str, Any] = field(default_factory=dict)  # what the predictor needs
    fit_labels: np.ndarray | None = None  # the algorithm's own labels on its fit rows
    fit_index: np.ndarray | None = None  # rows of X it was fitted on (None = all)


@dataclass
class SweepContext:
    seed: int
    quadratic_sample_size: int
    linear_sample_size: int
    k_max: int
    _cache: dict[str, Any] = field(default_factory=dict)

    def sample_index(self, n: int, size: int, tag: str) -> np.ndarray | None:
        """Sorted seeded sample of row indices, or None when n <= size."""
        if n <= size:
            return None
        key = f"sample:{tag}:{size}"
        if key not in self._cache:
            rng = np.random.default_rng(SAMPLE_SEED)
            self._cache[key] = np.sort(rng.choice(n, size=size, replace=False))
        return self._cache[key]

    def neighbours_in_sample(self, X: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """For every row of X, its SURROGATE_NEIGHBOURS nearest rows of X[idx] (positions in
        idx).  Shared by all quadratic algorithms since they use the same sample."""
        key = f"nbrs:{len(idx)}"
        if key not in self._cache:
            tree = cKDTree(X[idx])
            _, nb = tree.query(X, k=SURROGATE_NEIGHBOURS, workers=-1)
            self._cache[key] = nb.astype(np.int32)
        return self._cache[key]


def _extend(
    X: np.ndarray, idx: np.ndarray | None, sample_labels: np.ndarray, ctx: SweepContext
) -> np.ndarray:
    if idx is None:
        return sample_labels
    nb = ctx.neighbours_in_sample(X, idx)
    labels, _ = knn_vote(sample_labels[nb])
    return labels


def _knn_model(X: np.ndarray, idx: np.ndarray | None, labels: np.ndarray) -> dict[str, Any]:
    ref = X if idx is None else X[idx]
    keep = labels >= 0
    return {"kind": "knn", "points": ref[keep].copy(), "labels": labels[keep].astype(np.int32)}


def _sample_outcome(
    name: str,
    k: int | None,
    setting: str,
    X: np.ndarray,
    idx: np.ndarray | None,
    sample_labels: np.ndarray,
    ctx: SweepContext,
    started: float,
    shared: float,
) -> FitOutcome:
    """The outcome of an algorithm fitted on a sample: everyone else by the kNN surrogate."""
    return FitOutcome(
        name,
        k,
        setting,
        _extend(X, idx, sample_labels, ctx),
        len(sample_labels),
        time.perf_counter() - started + shared,
        model=_knn_model(X, idx, sample_labels),
        fit_labels=sample_labels,
        fit_index=idx,
    )


# ----------------------------------------------------------------------------- algorithms
#: K-Means restarts by size: enough that the run's seed does not change the optimum found.
#: Above KMEANS_FIT_AT_MOST rows it fits a fixed sample of that many and labels every row by
#: its nearest centre (docs/decisions/kmeans-on-a-sample-of-large-shops.md).
KMEANS_RESTARTS = ((50_000, 10), (KMEANS_FIT_AT_MOST := 250_000, 3))


def kmeans_restarts(n: int) -> int:
    return next((r for limit, r in KMEANS_RESTARTS if n <= limit), 3)


def sweep_kmeans(X: np.ndarray, ks: Sequence[int], ctx: SweepContext) -> Iterator[FitOutcome]:
    idx = ctx.sample_index(len(X), KMEANS_FIT_AT_MOST, "kmeans")
    Xf = X if idx is None else X[idx]
    n_init = kmeans_restarts(len(Xf))
    for k in ks:
        t = time.perf_counter()
        km = KMeans(n_clusters=k, n_init=n_init, random_state=ctx.seed).fit(Xf)
        fit_labels = km.labels_.astype(np.int32)
        labels = fit_labels if idx is None else km.predict(X).astype(np.int32)
        inertia = km.inertia_ if idx is None else -km.score(X)  # over every row either way
        yield FitOutcome(
            "kmeans",
            k,
            f"n_clusters={k}",
            labels,
            len(Xf),
            time.perf_counter() - t,
            inertia=float(inertia),
            model={"kind": "centroids", "centers": km.cluster_centers_.copy()},
            fit_labels=fit_labels,
            fit_index=idx,
        )


#: MiniBatch K-Means fits on a seeded sample of this many rows above it, then labels every
#: row by its nearest centre: on the whole of a bigger matrix each step is slower (random rows
#: out of cache) and it takes more steps (docs/scaling.md, ninth session).
MINIBATCH_FIT_AT_MOST = 1_000_000


def sweep_minibatch(X: np.ndarray, ks: Sequence[int], ctx: SweepContext) -> Iterator[FitOutcome]:
    idx = ctx.sample_index(len(X), MINIBATCH_FIT_AT_MOST, "minibatch")
    Xf = X if idx is None else X[idx]
    for k in ks:
        t = time.perf_counter()
        mb = MiniBatchKMeans(n_clusters=k, batch_size=4096, n_init=3, random_state=ctx.seed)
        mb.fit(Xf)
        fit_labels = mb.labels_.astype(np.int32)
        labels = fit_labels if idx is None else mb.predict(X).astype(np.int32)
        inertia = mb.inertia_ if idx is None else -mb.score(X)  # over every row either way
        yield FitOutcome(
            "minibatch_kmeans",
            k,
            f"n_clusters={k}",
            labels,
            len(Xf),
            time.perf_counter() - t,
            inertia=float(inertia),
            model={"kind": "centroids", "centers": mb.cluster_centers_.copy()},
            fit_labels=fit_labels,
            fit_index=idx,
        )


def sweep_gmm(X: np.ndarray, ks: Sequence[int], ctx: SweepContext) -> Iterator[FitOutcome]:
    idx = ctx.sample_index(len(X), ctx.linear_sample_size, "linear")
    Xf = X if idx is None else X[idx]
    for k in ks:
        t = time.perf_counter()
        gm = GaussianMixture(
            n_components=k,
            covariance_type="full",
            random_state=ctx.seed,
            reg_covar=1e-5,
            init_params="k-means++",  # seeding only, not a full K-Means run per k
            n_init=1 if idx is None else GMM_RESTARTS,
        ).fit(Xf)
        model = {
            "kind": "gaussian",
            "means": gm.means_.copy(),
            "precisions_cholesky": gm.precisions_cholesky_.copy(),
            "weights": gm.weights_.copy(),
        }
        labels = gaussian_log_resp(X, model).argmax(axis=1).astype(np.int32)
        yield FitOutcome(
            "gmm",
            k,
            f"n_components={k}",
            labels,
            len(Xf),
            time.perf_counter() - t,
            bic=float(gm.bic(Xf)),
            model=model,
            fit_labels=gm.predict(Xf).astype(np.int32),
            fit_index=idx,
        )


def _nearest(points: np.ndarray, X: np.ndarray, chunk: int = 65_536) -> np.ndarray:
    tree = cKDTree(points)
    out = np.empty(len(X), dtype=np.int64)
    for s in range(0, len(X), chunk):
        _, out[s : s + chunk] = tree.query(X[s : s + chunk], k=1, workers=-1)
    return out


def tune_birch(X: np.ndarray, min_subclusters: int) -> Birch:
    """Largest threshold (from 0.5 down) whose CF tree has >= min_subclusters subclusters."""
    threshold = 0.5
    while True:
        b = Birch(threshold=threshold, n_clusters=None).fit(X)
        if len(b.subcluster_centers_) >= min_subclusters or threshold < 1e-3:
            return b
        threshold *= 0.7


def sweep_birch(X: np.ndarray, ks: Sequence[int], ctx: SweepContext) -> Iterator[FitOutcome]:
    idx = ctx.sample_index(len(X), ctx.linear_sample_size, "linear")
    Xf = X if idx is None else X[idx]
    t = time.perf_counter()
    birch = tune_birch(Xf, 4 * max(ks))
    centers = birch.subcluster_centers_
    nearest = _nearest(centers, X)
    shared = (time.perf_counter() - t) / len(ks)
    for k in ks:
        t = time.perf_counter()
        sub_labels = AgglomerativeClustering(n_clusters=k).fit_predict(centers).astype(np.int32)
        labels = sub_labels[nearest]
        yield FitOutcome(
            "birch",
            k,
            f"n_clusters={k},threshold={birch.threshold:.3g}",
            labels,
            len(Xf),
            time.perf_counter() - t + shared,
            model={"kind": "subclusters", "centers": centers.copy(), "labels": sub_labels},
            fit_labels=labels if idx is None else labels[idx],
            fit_index=idx,
        )


def sweep_agglomerative(
    X: np.ndarray, ks: Sequence[int], ctx: SweepContext
) -> Iterator[FitOutcome]:
    idx = ctx.sample_index(len(X), ctx.quadratic_sample_size, "quadratic")
    Xs = X if idx is None else X[idx]
    t = time.perf_counter()
    tree = linkage(Xs, method="ward")
    shared = (time.perf_counter() - t) / len(ks)
    for k in ks:
        t = time.perf_counter()
        sample_labels = (fcluster(tree, t=k, criterion="maxclust") - 1).astype(np.int32)
        yield _sample_outcome(
            "agglomerative",
            k,
            f"n_clusters={k},linkage=ward",
            X,
            idx,
            sample_labels,
            ctx,
            t,
            shared,
        )


def sweep_spectral(X: np.ndarray, ks: Sequence[int], ctx: SweepContext) -> Iterator[FitOutcome]:
    idx = ctx.sample_index(len(X), ctx.quadratic_sample_size, "quadratic")
    Xs = X if idx is None else X[idx]
    t = time.perf_counter()
    conn = kneighbors_graph(Xs, n_neighbors=min(10, len(Xs) - 1), include_self=True)
    affinity = 0.5 * (conn + conn.T)
    with warnings.catch_warnings():
        # a kNN graph of customers is often not fully connected; the embedding still
        # separates the components, which is what we want
        warnings.filterwarnings("ignore", message="Graph is not fully connected")
        maps = spectral_embedding(
            affinity,
            n_components=max(ks),
            random_state=ctx.seed,
            drop_first=False,
            eigen_solver="arpack",
        )
    shared = (time.perf_counter() - t) / len(ks)
    for k in ks:
        t = time.perf_counter()
        sample_labels = (
            KMeans(n_clusters=k, n_init=4, random_state=ctx.seed).fit(maps[:, :k]).labels_
        ).astype(np.int32)
        yield _sample_outcome(
            "spectral", k, f"n_clusters={k},affinity=knn10", X, idx, sample_labels, ctx, t, shared
        )


def dbscan_eps(Xs: np.ndarray, min_samples: int) -> float:
    """eps at the knee of the sorted distances to each point's min_samples-th neighbour."""
    nn = NearestNeighbors(n_neighbors=min_samples).fit(Xs)
    dist, _ = nn.kneighbors(Xs)
    kd = np.sort(dist[:, -1])
    return float(max(kd[knee_index(kd)], 1e-6))


def sweep_dbscan(X: np.ndarray, ks: Sequence[int], ctx: SweepContext) -> Iterator[FitOutcome]:
    idx = ctx.sample_index(len(X), ctx.quadratic_sample_size, "quadratic")
    Xs = X if idx is None else X[idx]
    min_samples = max(5, 2 * X.shape[1])
    t = time.perf_counter()
    eps0 = dbscan_eps(Xs, min_samples)
    shared = (time.perf_counter() - t) / len(DBSCAN_EPS_FACTORS)
    for factor in DBSCAN_EPS_FACTORS:
        t = time.perf_counter()
        eps = eps0 * factor
        sample_labels = DBSCAN(eps=eps, min_samples=min_samples).fit(Xs).labels_.astype(np.int32)
        setting = f"eps={eps:.3g},min_samples={min_samples}"
        yield _sample_outcome("dbscan", None, setting, X, idx, sample_labels, ctx, t, shared)


@dataclass(frozen=True)
class AlgorithmSpec:
    name: str
    takes_k: bool
    scaling: str  # "full" | "linear_sample" | "quadratic_sample"
    grid: str  # human description of the parameter grid
    sweep: Callable[..., Iterator[FitOutcome]]

    @property
    def label(self) -> str:
        """The algorithm's name for managers, from the vocabulary."""
        return ALGORITHM_LABELS[self.name]


REGISTRY: dict[str, AlgorithmSpec] = {
    s.name: s
    for s in (
        AlgorithmSpec(
            "kmeans",
            True,
            "full",
            "n_clusters in k range; k-means++, 10 restarts (3 above 50k); fitted on a sample"
            " of 250k above 250k",
            sweep_kmeans,
        ),
        AlgorithmSpec(
            "minibatch_kmeans",
            True,
            "full",
            "n_clusters in k range; batch 4096, n_init=3; fitted on a sample of 1M above 1M",
            sweep_minibatch,
        ),
        AlgorithmSpec(
            "gmm",
            True,
            "linear_sample",
            "n_components in k range; full covariance; 3 restarts on its sample",
            sweep_gmm,
        ),
        AlgorithmSpec(
            "dbscan",
            False,
            "quadratic_sample",
            "eps = k-distance knee x (0.8, 1, 1.25); min_samples = max(5, 2*d)",
            sweep_dbscan,
        ),
        AlgorithmSpec(
            "agglomerative",
            True,
            "quadratic_sample",
            "n_clusters in k range; ward linkage",
            sweep_agglomerative,
        ),
        AlgorithmSpec(
            "birch",
            True,
            "linear_sample",
            "n_clusters in k range; threshold tuned to >= 4*k_max subclusters",
            sweep_birch,
        ),
        AlgorithmSpec(
            "spectral",
            True,
            "quadratic_sample",
            "n_clusters in k range; kNN(10) affinity",
            sweep_spectral,
        ),
    )
}


def sampling_notes(algorithms: Iterable[str], n: int, ctx: SweepContext) -> list[str]:
    """What the run's notes say about algorithms that saw a sample of the customers."""
    notes = []
    for name in algorithms:
        spec = REGISTRY[name]
        if spec.scaling == "quadratic_sample" and n > ctx.quadratic_sample_size:
            notes.append(
                f"{spec.label} ran on a fixed sample of {ctx.quadratic_sample_size:,} "
                f"customers; the others got the majority segment of their "
                f"{SURROGATE_NEIGHBOURS} nearest sampled customers"
            )
        if spec.scaling == "linear_sample" and n > ctx.linear_sample_size:
            notes.append(
                f"{spec.label} was fitted on a fixed sample of {ctx.linear_sample_size:,} "
                "customers and predicts everyone"
            )
        if name == "kmeans" and n > KMEANS_FIT_AT_MOST:
            notes.append(
                f"{spec.label} was fitted on a fixed sample of {KMEANS_FIT_AT_MOST:,} "
                "customers; every customer took the nearest centre"
            )
        if name == "minibatch_kmeans" and n > MINIBATCH_FIT_AT_MOST:
            notes.append(
                f"{spec.label} was fitted on a fixed sample of {MINIBATCH_FIT_AT_MOST:,} "
                "customers; every customer took the nearest centre"
            )
    return notes
