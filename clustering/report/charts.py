"""Chart and table data for the pages, built from what a run stored.

Each function returns plain data that a template passes to static/js/charts.js with
``json_script``; the same numbers are shown in a table beside each chart, so the pages work
without JavaScript and print the numbers too.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from clustering.engine.naming import money_words
from clustering.engine.types import ALL_FEATURES
from clustering.engine.vocabulary import FEATURE_LABELS, algorithm_label, feature_label

METRICS = (
    ("silhouette", "Silhouette (higher is better)"),
    ("davies_bouldin", "Davies-Bouldin (lower is better)"),
    ("calinski_harabasz", "Calinski-Harabasz (higher is better)"),
)


_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def readable_rule(rule: str, money_prefix: str = "") -> str:
    """The engine's rule with feature labels, proper signs and the currency symbol before
    the amounts, written as the names' sentences write them: "Orders ≥ 3 and Revenue ≤ £22.30"."""
    clauses = (rule or "").split(" and ")
    if money_prefix:
        clauses = [
            _NUMBER.sub(lambda m: money_words(float(m[0].replace(",", "")), money_prefix), clause)
            if any(re.search(rf"\b{name}\b", clause) for name in MONEY_FEATURES)
            else clause
            for clause in clauses
        ]
    text = " and ".join(clauses)
    for name in sorted(FEATURE_LABELS, key=len, reverse=True):
        text = re.sub(rf"\b{name}\b", FEATURE_LABELS[name], text)
    return text.replace("<=", "≤").replace(">=", "≥").replace("!=", "≠")


def share_chart(segments: list[dict]) -> dict[str, Any]:
    """Customer share against revenue share, per segment (percent)."""
    return {
        "labels": [s["name"] for s in segments],
        "customers": [round(100 * s["share_customers"], 1) for s in segments],
        "revenue": [round(100 * s["share_revenue"], 1) for s in segments],
    }


#: Features that are amounts: pages show them in the workspace's currency.
MONEY_FEATURES = frozenset({"monetary_total", "avg_basket_value"})
#: Features counted in days: pages show them in whole days (a median gap of 61.43 days
#: claims a precision the data do not have).
DAY_FEATURES = frozenset({"recency_days", "tenure_days", "mean_days_between_purchases"})
#: Features that are shares of 0..1: pages show them as percentages.
SHARE_FEATURES = frozenset({"return_rate"})


def feature_unit(name: str) -> str:
    """How the pages write a feature's values: "money", "days", "share" or "" (a plain
    number)."""
    if name in MONEY_FEATURES:
        return "money"
    if name in DAY_FEATURES:
        return "days"
    return "share" if name in SHARE_FEATURES else ""


def segment_profile_rows(segment: dict) -> list[dict[str, Any]]:
    """Per feature: the segment's median and mean, all customers' mean, and the lift."""
    rows = []
    lift = segment.get("lift") or {}
    means = segment.get("means") or {}
    medians = segment.get("medians") or {}
    for name in [f for f in ALL_FEATURES if f in lift or f in means] or list(lift):
        ratio = lift.get(name)
        mean = means.get(name)
        overall = None
        if mean is not None and ratio:
            overall = mean / ratio
        elif mean is not None and ratio is None:
            overall = 0.0  # the engine leaves the lift out only where all customers' mean is 0
        rows.append(
            {
                "feature": name,
                "label": feature_label(name),
                "unit": feature_unit(name),
                "median": medians.get(name),
                "mean": mean,
                "overall_mean": overall,
                "lift": ratio,
            }
        )
    return rows


def lift_chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    kept = [r for r in rows if r["lift"] is not None]
    return {"labels": [r["label"] for r in kept], "values": [round(r["lift"], 3) for r in kept]}


def _x(candidate: dict) -> int:
    return candidate["k"] if candidate["k"] is not None else candidate["n_clusters"]


def elbow_chart(candidates: list[dict]) -> dict[str, Any]:
    """Inertia against k, one series per algorithm that has an inertia."""
    series: dict[str, list] = defaultdict(list)
    for c in candidates:
        if c["inertia"] is not None:
            series[c["algorithm"]].append([_x(c), c["inertia"]])
    return {"series": _series(series), "y_label": "Inertia (within-segment spread)"}


def _series(points_by_algorithm: dict[str, list]) -> list[dict[str, Any]]:
    """One series per algorithm, named by its label as in the tables beside the charts."""
    return [
        {"algorithm": a, "label": algorithm_label(a), "points": sorted(p)}
        for a, p in sorted(points_by_algorithm.items())
    ]


def metric_charts(candidates: list[dict]) -> list[dict[str, Any]]:
    """One chart per validation score: the score against k, one series per algorithm."""
    charts = []
    for metric, label in METRICS:
        series: dict[str, list] = defaultdict(list)
        for c in candidates:
            if c[metric] is not None:
                series[c["algorithm"]].append([_x(c), round(c[metric], 4)])
        charts.append(
            {
                "id": f"chart-{metric}",
                "data_id": f"chart-{metric}-data",
                "metric": metric,
                "title": label,
                "data": {"series": _series(series), "y_label": label},
            }
        )
    return charts


def pca_chart(pca: dict, segments: list[dict]) -> dict[str, Any]:
    """The stored 2-D projection sample, grouped by segment (in segment order)."""
    points: dict[int, list] = defaultdict(list)
    for _customer, x, y, number in pca.get("points") or []:
        points[number].append([x, y])
    ratio = pca.get("explained_variance_ratio") or [None, None]
    return {
        "segments": [
            {"number": s["number"], "name": s["name"], "points": points.get(s["number"], [])}
            for s in segments
        ],
        "explained": ratio,
        "n_points": sum(len(p) for p in points.values()),
    }


def profiles_table(segments: list[dict], money_prefix: str = "") -> dict[str, Any]:
    """Segments side by side: per feature, each segment's median and lift."""
    features = [f for f in ALL_FEATURES if any(f in (s.get("medians") or {}) for s in segments)]
    rows = []
    for name in features:
        rows.append(
            {
                "label": feature_label(name),
                "unit": feature_unit(name),
                "cells": [
                    {
                        "median": (s.get("medians") or {}).get(name),
                        "lift": (s.get("lift") or {}).get(name),
                    }
                    for s in segments
                ],
            }
        )
    for segment in segments:
        segment["readable_rule"] = readable_rule(segment.get("rule", ""), money_prefix)
    return {"segments": segments, "rows": rows}


def heat_level(value: float, largest: float, levels: int = 5) -> int:
    """0 for nothing, else 1..levels by share of the largest value (for heatmap classes)."""
    if not value or not largest:
        return 0
    return max(1, min(levels, round(levels * value / largest)))
