"""One label per algorithm and per feature, declared once (clustering.engine.vocabulary)."""

from __future__ import annotations

from clustering.engine import algorithms
from clustering.engine.types import ALGORITHM_NAMES, ALL_FEATURES
from clustering.engine.vocabulary import (
    ALGORITHM_LABELS,
    ALGORITHM_NOTES,
    FEATURE_LABELS,
    FEATURE_NOTES,
    algorithm_choices,
    feature_choices,
    feature_label,
)


def test_every_algorithm_in_the_registry_has_exactly_one_label():
    assert list(ALGORITHM_LABELS) == list(algorithms.REGISTRY) == list(ALGORITHM_NAMES)
    assert len(set(ALGORITHM_LABELS.values())) == len(ALGORITHM_LABELS)  # no two alike
    for name, spec in algorithms.REGISTRY.items():
        assert spec.label == ALGORITHM_LABELS[name]
        # A label is a name, not a note: the page's "Agglomerative (n_clusters=4)" adds one.
        assert "(" not in spec.label
    assert set(ALGORITHM_NOTES) <= set(ALGORITHM_LABELS)


def test_every_feature_has_exactly_one_label():
    assert list(FEATURE_LABELS) == list(ALL_FEATURES)
    assert len(set(FEATURE_LABELS.values())) == len(FEATURE_LABELS)
    assert set(FEATURE_NOTES) <= set(FEATURE_LABELS)
    assert feature_label("frequency (high)") == "Orders (high)"
    assert feature_label("new_feature") == "New feature"


def test_choices_are_the_label_with_its_note():
    choices = dict(algorithm_choices())
    assert choices["dbscan"] == "DBSCAN (finds its own number of segments)"
    assert choices["kmeans"] == "K-Means"
    assert all(label.split(" (")[0] == ALGORITHM_LABELS[a] for a, label in choices.items())
    features = dict(feature_choices())
    assert features["frequency"] == "Orders (frequency)"
    assert features["country"] == "Country"
