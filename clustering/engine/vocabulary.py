"""The words people read for the engine's names: one label per algorithm and per feature.

The justification and notes the engine writes, the run form, the report pages, the charts and
the API all take their labels from here, so a name is spelt one way everywhere.
"""

from __future__ import annotations

from .types import ALGORITHM_NAMES, ALL_FEATURES

#: An algorithm's name for people (REGISTRY's AlgorithmSpec.label reads it from here).
ALGORITHM_LABELS: dict[str, str] = {
    "kmeans": "K-Means",
    "minibatch_kmeans": "MiniBatch K-Means",
    "gmm": "Gaussian mixture",
    "dbscan": "DBSCAN",
    "agglomerative": "Agglomerative",
    "birch": "BIRCH",
    "spectral": "Spectral",
}
#: What the run form adds in brackets after an algorithm's label.
ALGORITHM_NOTES: dict[str, str] = {
    "dbscan": "finds its own number of segments",
    "agglomerative": "Ward",
}

#: A feature's name for people: chart axes, profile tables, readable rules, the run form.
FEATURE_LABELS: dict[str, str] = {
    "recency_days": "Days since last purchase",
    "frequency": "Orders",
    "monetary_total": "Revenue",
    "tenure_days": "Days since first purchase",
    "avg_basket_value": "Average basket",
    "distinct_products": "Distinct products",
    "return_rate": "Return rate",
    "mean_days_between_purchases": "Days between purchases",
    "country": "Country",
}
#: The marketing word a feature stands for, which the run form adds in brackets.
FEATURE_NOTES: dict[str, str] = {
    "recency_days": "recency",
    "frequency": "frequency",
    "monetary_total": "monetary",
    "tenure_days": "tenure",
}


def algorithm_label(name: str) -> str:
    """An algorithm's label, "minibatch_kmeans" -> "MiniBatch K-Means"; unknown names as is."""
    return ALGORITHM_LABELS.get(name, name or "")


def feature_label(name: str) -> str:
    """A feature's label; keeps a trailing note such as " (high)"; unknown names readable."""
    base, sep, note = name.partition(" (")
    label = FEATURE_LABELS.get(base, base.replace("_", " ").capitalize())
    return f"{label}{sep}{note}"


def _with_note(label: str, note: str | None) -> str:
    return f"{label} ({note})" if note else label


def algorithm_choices() -> list[tuple[str, str]]:
    """(name, label) per algorithm, with the note the run form shows: "DBSCAN (finds ...)"."""
    return [(a, _with_note(ALGORITHM_LABELS[a], ALGORITHM_NOTES.get(a))) for a in ALGORITHM_NAMES]


def feature_choices() -> list[tuple[str, str]]:
    """(name, label) per feature, with its marketing word: "Orders (frequency)"."""
    return [(f, _with_note(FEATURE_LABELS[f], FEATURE_NOTES.get(f))) for f in ALL_FEATURES]
