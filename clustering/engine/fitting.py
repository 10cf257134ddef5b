"""From the chosen candidate to a predictor: model labels renumbered biggest segment first,
empty components dropped, and how often the predictor agrees with the algorithm's own
labels."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from . import algorithms as alg
from .assign import knn_vote
from .predictor import SegmentPredictor
from .preprocess import Preprocessor


def fit_predictor(
    X: np.ndarray, pre: Preprocessor, outcome: alg.FitOutcome, notes: list[str]
) -> tuple[dict[str, Any], np.ndarray, np.ndarray, int, float]:
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
    assert outcome.fit_labels is not None  # every algorithm's outcome carries them
    agreement = surrogate_agreement(raw_model, X, fit_rows, outcome.fit_labels, raw_labels)
    return raw_model, label_map, segment_ids, n_segments, agreement


def surrogate_agreement(
    model: dict[str, Any],
    X: np.ndarray,
    fit_rows: np.ndarray,
    own: np.ndarray,
    predicted: np.ndarray,
) -> float:
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
    votes, _ = knn_vote(labels[others])
    return float(np.mean(votes == labels))


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
