"""Segment profiles: sizes, medians, what sets each segment apart, a readable rule, and the
name and action that :mod:`clustering.engine.naming` gives it from its three axes.

Names are unique within a run: when two segments get the same name, they are told apart by
spend ("higher spend" / "lower spend", or high / mid / low).
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

from .activity import customer_status, shop_rhythm
from .naming import (
    frequent_floor,
    name_checks,
    playbook_entry,
    rule_for,
    segment_axes,
    unique_names,
    why_sentence,
)
from .types import NUMERIC_FEATURES, RFM_FEATURES, ActivityRhythm, SegmentProfile


def _fmt(v: float) -> str:
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def _whole(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return bool(len(finite)) and bool(np.all(finite == np.round(finite)))


def _condition(name: str, low: float | None, high: float | None, whole: bool) -> str:
    """One feature's bounds (low < x <= high, either may be missing). A tree splits half way
    between two values; a count's bounds read as whole numbers instead ("Orders <= 1", not
    "<= 1.50"), which say the same of whole values."""
    if not whole:
        if low is not None and high is not None:
            return f"{_fmt(low)} < {name} <= {_fmt(high)}"
        if low is not None:
            return f"{name} > {_fmt(low)}"
        assert high is not None  # a tree's path bounds a feature it splits on
        return f"{name} <= {_fmt(high)}"
    first = None if low is None else int(np.floor(low)) + 1
    last = None if high is None else int(np.floor(high))
    if first is not None and last is not None:
        return f"{name} = {first}" if first == last else f"{first} <= {name} <= {last}"
    return f"{name} >= {first}" if first is not None else f"{name} <= {last}"


def segment_rule(
    X: np.ndarray, names: list[str], y: np.ndarray, seed: int
) -> tuple[str, float, float, float]:
    """A depth <= 3 tree for 'in this segment or not'; the rule is the path to the leaf that
    holds most of the segment.  Returns (rule, accuracy, precision, recall) of that rule."""
    tree = DecisionTreeClassifier(
        max_depth=3,
        class_weight="balanced",
        random_state=seed,
        min_samples_leaf=max(5, len(y) // 200),
    ).fit(X, y)
    t = tree.tree_
    best_leaf, best_pos, paths = -1, -1.0, {}
    stack: list[tuple[int, list]] = [(0, [])]
    while stack:
        node, path = stack.pop()
        if t.children_left[node] == -1:
            paths[node] = path
            value = t.value[node][0]
            if tree.classes_[int(np.argmax(value))]:
                pos = t.n_node_samples[node] * value[list(tree.classes_).index(True)]
                if pos > best_pos:
                    best_leaf, best_pos = node, pos
            continue
        f, thr = t.feature[node], t.threshold[node]
        stack.append((t.children_left[node], path + [(f, "<=", thr)]))
        stack.append((t.children_right[node], path + [(f, ">", thr)]))
    if best_leaf < 0:
        return "no simple rule", float(np.mean(~y)), 0.0, 0.0
    lower: dict[int, float] = {}
    upper: dict[int, float] = {}
    for f, op, thr in paths[best_leaf]:
        if op == "<=":
            upper[f] = min(upper.get(f, np.inf), thr)
        else:
            lower[f] = max(lower.get(f, -np.inf), thr)
    inside = np.ones(len(y), bool)
    parts = []
    for f in sorted(set(lower) | set(upper)):
        if f in lower:
            inside &= X[:, f] > lower[f]
        if f in upper:
            inside &= X[:, f] <= upper[f]
        parts.append(_condition(names[f], lower.get(f), upper.get(f), _whole(X[:, f])))
    rule = " and ".join(parts) if parts else "all customers"
    acc = float(np.mean(inside == y))
    prec = float(y[inside].mean()) if inside.any() else 0.0
    rec = float(inside[y].mean()) if y.any() else 0.0
    return rule, acc, prec, rec


def build_profiles(
    features: pd.DataFrame,
    segment_ids: np.ndarray,
    rule_features: tuple[str, ...],
    seed: int = 42,
    rule_sample: int = 20_000,
    rhythm: ActivityRhythm | None = None,
    p_alive: pd.Series | None = None,
    money_prefix: str = "",
) -> list[SegmentProfile]:
    """Profiles for segments 0..K-1 (``features`` holds all computed features); ``p_alive``
    (by customer id) names activity when the rhythm's evidence says so; ``money_prefix``
    goes before the amounts of the names' sentences."""
    numeric = [c for c in NUMERIC_FEATURES if c in features.columns]
    vals = features[numeric].to_numpy(dtype=float)
    n = len(features)
    # A feature with one value in the whole shop (no product codes, no returns), or none,
    # tells no segment apart: profiles leave it out. Recency, orders and spend stay: names
    # rest on them.
    logv = np.sign(vals) * np.log1p(np.abs(vals))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a feature with no value at all
        varies = np.nanmax(vals, axis=0) > np.nanmin(vals, axis=0)
        overall_mean = np.nanmean(vals, axis=0)
        # standardise in log space for "what sets it apart" (raw spend is too skewed)
        log_mean, log_std = np.nanmean(logv, axis=0), np.nanstd(logv, axis=0)
    shown = [j for j, c in enumerate(numeric) if varies[j] or c in RFM_FEATURES]
    log_std = np.where(log_std > 0, log_std, 1.0)
    revenue = features["monetary_total"].to_numpy(dtype=float)
    total_revenue = revenue.sum()
    rng = np.random.default_rng(seed)
    rule_idx = np.sort(rng.choice(n, rule_sample, replace=False)) if n > rule_sample else None
    rule_cols = [c for c in rule_features if c in numeric]
    Xr = features[rule_cols].to_numpy(dtype=float)
    Xr = np.where(np.isnan(Xr), np.nanmedian(Xr, axis=0), Xr)
    if rule_idx is not None:
        Xr = Xr[rule_idx]
    seg_r = segment_ids if rule_idx is None else segment_ids[rule_idx]

    K = int(segment_ids.max()) + 1
    rhythm = rhythm or shop_rhythm(features)
    status = customer_status(features, rhythm, p_alive)
    by_days = dataclasses.replace(rhythm, evidence="recency")
    days_status = customer_status(features, by_days)
    frequent_from = frequent_floor(features["frequency"].to_numpy(dtype=float))
    axes = [segment_axes(features, segment_ids == s, status, frequent_from) for s in range(K)]
    # Segments are split at the rhythm's days (the predictor repeats that split): where P(alive)
    # calls such a segment mixed, its days name it instead, and its why says so.
    evidence = [rhythm] * K
    for s in range(K):
        if rhythm.evidence == "p_alive" and axes[s].activity == "mixed":
            days_axes = segment_axes(features, segment_ids == s, days_status, frequent_from)
            if days_axes.activity != "mixed":
                axes[s], evidence[s] = days_axes, by_days
    rules = [rule_for(a.value, a.engagement, a.activity) for a in axes]
    names = unique_names([r.name for r in rules], axes)

    profiles = []
    for s in range(K):
        mask = segment_ids == s
        seg = vals[mask]
        with warnings.catch_warnings():
            # a segment of one-time buyers has no mean_days_between_purchases: NaN is right
            warnings.simplefilter("ignore", RuntimeWarning)
            means = np.nanmean(seg, axis=0)
            medians = np.nanmedian(seg, axis=0)
            z = (np.nanmean(logv[mask], axis=0) - log_mean) / log_std
        order = np.array(shown)[np.argsort(-np.abs(np.nan_to_num(z[shown])))][:3]
        distinguishing = tuple(f"{numeric[j]} ({'high' if z[j] > 0 else 'low'})" for j in order)
        with np.errstate(divide="ignore", invalid="ignore"):
            lift = np.where(overall_mean != 0, means / overall_mean, np.nan)
        names_shown = [numeric[j] for j in shown]
        rule, acc, prec, rec = segment_rule(Xr, rule_cols, seg_r == s, seed)
        action, rationale = playbook_entry(names[s])
        share_revenue = float(revenue[mask].sum() / total_revenue) if total_revenue else 0.0
        top_country = (
            str(features.loc[mask, "country"].mode().iloc[0])
            if "country" in features.columns and mask.any()
            else None
        )
        profiles.append(
            SegmentProfile(
                segment_id=s,
                name=names[s],
                size=int(mask.sum()),
                share_customers=float(mask.sum() / n),
                share_revenue=share_revenue,
                medians=dict(zip(names_shown, map(float, medians[shown]), strict=True)),
                means=dict(zip(names_shown, map(float, means[shown]), strict=True)),
                lift=dict(zip(names_shown, map(float, lift[shown]), strict=True)),
                distinguishing=distinguishing,
                rule=rule,
                rule_accuracy=acc,
                rule_precision=prec,
                rule_recall=rec,
                action=action,
                rationale=rationale,
                top_country=top_country,
                value=axes[s].value,
                engagement=axes[s].engagement,
                activity=axes[s].activity,
                activity_shares=axes[s].activity_shares,
                why=why_sentence(
                    axes[s],
                    share_revenue,
                    float(mask.sum() / n),
                    evidence[s].evidence,
                    money_prefix,
                ),
                conditions=name_checks(rules[s], axes[s], evidence[s], money_prefix),
                activity_evidence=evidence[s].evidence,
            )
        )
    return profiles
