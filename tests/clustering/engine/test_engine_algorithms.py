"""Each algorithm recovers known groups; metrics equal scikit-learn's; the knee finder."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_score,
)

from clustering.engine import algorithms as alg
from clustering.engine.assign import knn_vote
from clustering.engine.knee import knee_index, knee_value
from clustering.engine.metrics import SilhouetteScorer, cluster_scores


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(
        n_samples=800,
        centers=4,
        n_features=3,
        cluster_std=0.6,
        center_box=(-8, 8),
        random_state=3,
    )
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def ctx(seed=42, quadratic=5_000):
    return alg.SweepContext(seed, quadratic, 50_000, 4)


@pytest.mark.parametrize(
    "name", ["kmeans", "minibatch_kmeans", "gmm", "agglomerative", "birch", "spectral"]
)
def test_algorithm_recovers_known_groups(blobs, name):
    X, y = blobs
    (out,) = list(alg.REGISTRY[name].sweep(X, [4], ctx()))
    assert adjusted_rand_score(y, out.labels) >= 0.9
    assert out.fitted_on == len(X)


def test_dbscan_with_knee_eps_recovers_known_groups(blobs):
    X, y = blobs
    outs = list(alg.REGISTRY["dbscan"].sweep(X, [4], ctx()))
    assert len(outs) == len(alg.DBSCAN_EPS_FACTORS)
    best = max(adjusted_rand_score(y[o.labels >= 0], o.labels[o.labels >= 0]) for o in outs)
    assert best >= 0.9


@pytest.mark.parametrize("name", ["agglomerative", "spectral", "dbscan"])
def test_quadratic_algorithms_sample_and_extend(blobs, name):
    X, y = blobs
    out = list(alg.REGISTRY[name].sweep(X, [4], ctx(quadratic=300)))[0]
    assert out.fitted_on == 300 and len(out.labels) == len(X)
    if name != "dbscan":
        assert adjusted_rand_score(y, out.labels) >= 0.9


@pytest.mark.parametrize("name", list(alg.REGISTRY))
def test_fixed_seed_reproduces_labels_exactly(blobs, name):
    X, _ = blobs
    a = [o.labels for o in alg.REGISTRY[name].sweep(X, [3, 5], ctx(seed=7))]
    b = [o.labels for o in alg.REGISTRY[name].sweep(X, [3, 5], ctx(seed=7))]
    for la, lb in zip(a, b, strict=True):
        np.testing.assert_array_equal(la, lb)


@pytest.mark.parametrize(
    ("name", "cap"),
    [("kmeans", "KMEANS_FIT_AT_MOST"), ("minibatch_kmeans", "MINIBATCH_FIT_AT_MOST")],
)
def test_k_means_fits_a_sample_of_a_big_matrix_and_labels_every_row(blobs, name, cap, monkeypatch):
    X, y = blobs
    monkeypatch.setattr(alg, cap, 300)
    out = next(alg.REGISTRY[name].sweep(X, [4], ctx()))
    assert out.fitted_on == 300 and len(out.fit_index) == 300
    assert np.array_equal(out.fit_index, np.unique(out.fit_index))  # distinct rows, in order
    centers = out.model["centers"]
    distances = ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    assert np.array_equal(out.labels, distances.argmin(axis=1))  # every row, not only the fit
    assert np.array_equal(out.fit_labels, out.labels[out.fit_index])
    assert out.inertia == pytest.approx(distances.min(axis=1).sum())  # over every row
    assert adjusted_rand_score(y, out.labels) > 0.95
    again = next(alg.REGISTRY[name].sweep(X, [4], ctx()))
    assert np.array_equal(again.labels, out.labels)
    notes = alg.sampling_notes([name], len(X), ctx())
    assert any("fitted on a fixed sample of 300 customers" in note for note in notes)
    assert not any("fixed sample of 300" in n for n in alg.sampling_notes([name], 300, ctx()))


def test_the_mixture_restarts_where_it_fits_its_sample_only(blobs, monkeypatch):
    """One restart let its fits move with the seed and reorder the shared ranks on a large
    shop; on every row of a small one a single start is kept (it moved no choice there)."""
    X, _ = blobs
    starts: list[int] = []
    real = alg.GaussianMixture

    def recording(*args, **kwargs):
        starts.append(kwargs["n_init"])
        return real(*args, **kwargs)

    monkeypatch.setattr(alg, "GaussianMixture", recording)
    whole = next(alg.REGISTRY["gmm"].sweep(X, [4], ctx()))
    sampled = next(alg.REGISTRY["gmm"].sweep(X, [4], alg.SweepContext(42, 5_000, 300, 4)))
    assert (whole.fitted_on, sampled.fitted_on) == (len(X), 300)
    assert starts == [1, alg.GMM_RESTARTS] and alg.GMM_RESTARTS >= 3


def test_birch_threshold_is_tuned_to_enough_subclusters(blobs):
    X, _ = blobs
    birch = alg.tune_birch(X, 40)
    assert len(birch.subcluster_centers_) >= 40


def test_metrics_equal_scikit_learn(blobs):
    X, y = blobs
    labels = alg.KMeans(n_clusters=5, n_init=1, random_state=0).fit_predict(X)
    scorer = SilhouetteScorer(X, sample_size=10_000)
    assert not scorer.sampled
    assert scorer.score(labels) == pytest.approx(silhouette_score(X, labels), abs=1e-10)
    db, ch = cluster_scores(X, labels)
    assert db == pytest.approx(davies_bouldin_score(X, labels), rel=1e-12)
    assert ch == pytest.approx(calinski_harabasz_score(X, labels), rel=1e-12)


def test_metrics_leave_noise_out(blobs):
    X, y = blobs
    labels = y.copy()
    labels[:50] = -1
    keep = labels >= 0
    scorer = SilhouetteScorer(X)
    assert scorer.score(labels) == pytest.approx(silhouette_score(X[keep], labels[keep]), abs=1e-10)
    db, _ = cluster_scores(X, labels)
    assert db == pytest.approx(davies_bouldin_score(X[keep], labels[keep]))


def test_cluster_scores_equal_scikit_learn_on_uneven_labels(blobs):
    X, y = blobs
    rng = np.random.default_rng(3)
    labels = np.array([0, 3, 7, 12])[rng.integers(0, 4, len(X))]  # gaps in the label values
    labels[5] = 40  # a one-member cluster
    labels[10:30] = -1
    keep = labels >= 0
    db, ch = cluster_scores(X, labels)
    assert db == pytest.approx(davies_bouldin_score(X[keep], labels[keep]), rel=1e-12)
    assert ch == pytest.approx(calinski_harabasz_score(X[keep], labels[keep]), rel=1e-12)
    # two clusters on the same point: both scores are scikit-learn's degenerate values
    same = np.zeros((6, 2))
    assert cluster_scores(same, np.array([0, 0, 0, 1, 1, 1])) == (
        davies_bouldin_score(same, [0, 0, 0, 1, 1, 1]),
        calinski_harabasz_score(same, [0, 0, 0, 1, 1, 1]),
    )
    # outside scikit-learn's domain (it raises): no score, not an error
    assert np.isnan(cluster_scores(X[:3], np.array([0, 1, 2]))).all()
    assert np.isnan(cluster_scores(X, np.zeros(len(X), dtype=int))).all()


def test_sampled_silhouette_equals_scikit_learn_on_the_same_rows(blobs):
    X, y = blobs
    scorer = SilhouetteScorer(X, sample_size=300, seed=1)
    assert scorer.sampled and len(scorer.index) == 300
    rows = scorer.index
    assert scorer.score(y) == pytest.approx(silhouette_score(X[rows], y[rows]), abs=1e-10)


def test_knee_of_an_inertia_curve():
    ks = np.arange(2, 11)
    inertia = np.array([1000, 600, 250, 200, 170, 150, 135, 125, 118], dtype=float)
    assert knee_value(ks, inertia) == 4


def test_knee_of_an_increasing_curve_and_degenerate_cases():
    y = np.r_[np.linspace(0, 1, 90), np.linspace(1.5, 10, 10)]
    assert 85 <= knee_index(y) <= 91
    assert knee_index(np.ones(5)) == 0
    assert knee_index(np.arange(5.0)) == 0  # a straight line has no knee
    assert knee_index(np.array([1.0, 2.0])) == 0


def test_knn_vote_breaks_ties_by_nearest_neighbour():
    labels, share = knn_vote(np.array([[2, 1, 1, 2, 0], [3, 3, 3, 1, 1]]))
    np.testing.assert_array_equal(labels, [2, 3])
    np.testing.assert_allclose(share, [0.4, 0.6])
