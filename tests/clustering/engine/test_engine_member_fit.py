"""The predictor's runner-up segment and the member's fit in words (no database)."""

import numpy as np
import pytest

from clustering.engine import SegmentationParams, run_segmentation
from clustering.engine.assign import gaussian_log_resp
from clustering.engine.fit import THRESHOLDS, fit_level, fit_words
from clustering.engine.predictor import _second_vote
from clustering.engine.synthetic import make_customer_aggregates


@pytest.fixture(scope="module")
def aggregates():
    return make_customer_aggregates(600, seed=11)[0]


def _run(aggregates, algorithm):
    params = SegmentationParams(algorithms=(algorithm,), k_min=3, k_max=5, stability_resamples=1)
    result = run_segmentation(aggregates, params)
    features = result.features[list(result.predictor.feature_names)]
    return result, features


@pytest.mark.parametrize("algorithm", ["kmeans", "gmm", "birch", "agglomerative"])
def test_runner_up_is_another_segment_and_predictions_are_unchanged(aggregates, algorithm):
    result, features = _run(aggregates, algorithm)
    predictor = result.predictor
    seg, conf, runner_up = predictor.predict_with_runner_up(features)
    plain_seg, plain_conf = predictor.predict(features)
    np.testing.assert_array_equal(seg, plain_seg)
    np.testing.assert_array_equal(conf, plain_conf)
    np.testing.assert_array_equal(seg, result.assignments["segment_id"])
    n_segments = len(result.segments)
    given = runner_up >= 0
    assert (runner_up[given] != seg[given]).all()
    assert (runner_up[given] < n_segments).all()
    if algorithm != "agglomerative":  # distances and probabilities always rank a second
        assert given.all()
    else:  # neighbours that all agree name no runner-up: exactly the unanimous ones
        np.testing.assert_array_equal(~given, conf == 1.0)


def test_gaussian_runner_up_is_the_second_most_probable_component(aggregates):
    result, features = _run(aggregates, "gmm")
    predictor = result.predictor
    pre = predictor.preprocessor
    num, countries = pre.raw_arrays(features)
    X = pre.transform_arrays(num, countries)
    _, _, second = predictor.predict_transformed_ranked(X)
    logp = gaussian_log_resp(X, predictor.model)
    expected = predictor.label_map[np.argsort(-logp, axis=1)[:, 1]]
    np.testing.assert_array_equal(second, expected)


def test_centroid_runner_up_is_the_next_nearest_centre(aggregates):
    result, features = _run(aggregates, "kmeans")
    predictor = result.predictor
    pre = predictor.preprocessor
    X = pre.transform_arrays(*pre.raw_arrays(features))
    _, conf, second = predictor.predict_transformed_ranked(X)
    centres = predictor.model["centers"]
    distances = np.sqrt(((X[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2))
    order = np.argsort(distances, axis=1)
    np.testing.assert_array_equal(second, predictor.label_map[order[:, 1]])
    # the confidence compares exactly these two distances
    nearest = np.take_along_axis(distances, order[:, :2], axis=1)
    np.testing.assert_allclose(conf, 1 - nearest[:, 0] / nearest[:, 1], atol=1e-9)


def test_second_vote_is_the_most_voted_other_label_nearest_first():
    votes = np.array(
        [
            [0, 0, 0, 0, 0],  # unanimous: none
            [0, 1, 0, 2, 2],  # 2 has two votes against 1's one
            [0, 0, 1, 0, 2],  # 1 and 2 tie: the nearer neighbour's, 1
        ]
    )
    best = np.array([0, 0, 0])
    np.testing.assert_array_equal(_second_vote(votes, best), [-1, 2, 1])


@pytest.mark.parametrize(
    ("confidence", "algorithm", "level"),
    [
        (0.6, "kmeans", "typical"),
        (0.3, "kmeans", "clear"),
        (0.1, "kmeans", "borderline"),
        (0.99, "gmm", "typical"),
        (0.8, "gmm", "clear"),
        (0.55, "gmm", "borderline"),
        (1.0, "spectral", "typical"),
        (0.8, "spectral", "clear"),
        (0.6, "spectral", "borderline"),
        (None, "kmeans", None),
    ],
)
def test_fit_levels_follow_each_model_kinds_thresholds(confidence, algorithm, level):
    assert fit_level(confidence, algorithm) == level


def test_fit_in_words_names_the_runner_up():
    assert fit_words(0.7, "kmeans", "At risk") == "typical member"
    assert fit_words(0.05, "kmeans", "At risk") == "borderline: also close to At risk"
    assert fit_words(0.05, "kmeans", None) == "borderline member"
    assert fit_words(0.3, "kmeans", "At risk") == "clear member, next closest to At risk"
    assert fit_words(None, "kmeans", "At risk") == ""
    for limits in THRESHOLDS.values():
        assert 0 < limits.borderline < limits.typical <= 1
