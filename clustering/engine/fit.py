"""A member's fit in words ("typical member", "borderline: also close to At risk") from the
predictor's confidence and runner-up segment. Confidence means a different thing for each
model kind (clustering.engine.predictor), so each kind has its own two thresholds; why these
values: docs/decisions/member-fit-in-words.md."""

from __future__ import annotations

from dataclasses import dataclass

#: The predictor's model kind behind each algorithm (clustering.engine.algorithms).
MODEL_KIND: dict[str, str] = {
    "kmeans": "centroids",
    "minibatch_kmeans": "centroids",
    "gmm": "gaussian",
    "birch": "subclusters",
    "dbscan": "knn",
    "agglomerative": "knn",
    "spectral": "knn",
}


@dataclass(frozen=True)
class FitThresholds:
    typical: float  # at least this: a typical member
    borderline: float  # below this: borderline, as close to the runner-up as to its own


#: centroids / subclusters: confidence is 1 - d1/d2; 0.5 = twice as close to its own centre
#: as to the next, below 0.15 the two are within 15% of each other. gaussian: the posterior
#: probability. knn: the share of 5 neighbours voting for the segment (3 of 5 is borderline).
THRESHOLDS: dict[str, FitThresholds] = {
    "centroids": FitThresholds(typical=0.5, borderline=0.15),
    "subclusters": FitThresholds(typical=0.5, borderline=0.15),
    "gaussian": FitThresholds(typical=0.95, borderline=0.7),
    "knn": FitThresholds(typical=1.0, borderline=0.7),
}

TYPICAL = "typical"
CLEAR = "clear"
BORDERLINE = "borderline"


def fit_level(confidence: float | None, algorithm: str) -> str | None:
    """typical, clear or borderline; None without a confidence."""
    if confidence is None:
        return None
    limits = THRESHOLDS[MODEL_KIND.get(algorithm, "centroids")]
    if confidence >= limits.typical:
        return TYPICAL
    if confidence < limits.borderline:
        return BORDERLINE
    return CLEAR


def fit_words(confidence: float | None, algorithm: str, runner_up: str | None = None) -> str:
    """The fit in a marketer's words: "typical member", "clear member, next closest to X",
    "borderline: also close to X"; "" without a confidence."""
    level = fit_level(confidence, algorithm)
    if level is None:
        return ""
    if level == TYPICAL:
        return "typical member"
    if level == BORDERLINE:
        return f"borderline: also close to {runner_up}" if runner_up else "borderline member"
    return f"clear member, next closest to {runner_up}" if runner_up else "clear member"
