"""Segment profiles, business names and marketing actions.

Names come from each segment's position on recency, frequency, monetary and tenure: the
percentile (among all customers) of the segment's median value.  The rules are in
:func:`base_name`; every name must have an entry in :data:`PLAYBOOK`, the one place where
marketing edits actions.  Names are unique within a run: when two segments get the same base
name, they are told apart by spend ("higher spend" / "lower spend", or high / mid / low).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

from .types import NUMERIC_FEATURES, SegmentProfile

#: name -> (recommended action, rationale).  Edit here; nothing else needs to change.
PLAYBOOK: dict[str, tuple[str, str]] = {
    "Champions": (
        "Reward and involve: early access, loyalty perks, referral programme; no discounts.",
        "They buy often, spend most and bought recently; protect margin and ask for advocacy.",
    ),
    "Loyal customers": (
        "Upsell and cross-sell higher-value ranges; invite to the loyalty tier.",
        "Regular, recent buyers respond to relevant recommendations more than to price.",
    ),
    "Potential loyalists": (
        "Second-and-third order journey: personalised recommendations, free-shipping threshold.",
        "Recent but not yet frequent; the next two orders decide whether they stay.",
    ),
    "New customers": (
        "Onboarding series: welcome, best-sellers, a time-limited second-order incentive.",
        "Bought for the first time recently; early experience drives repeat purchase.",
    ),
    "Price-sensitive occasional": (
        "Promote bundles and seasonal sales; keep contact low-cost (email, not print).",
        "Small, infrequent baskets; they react to price, and margin per contact is thin.",
    ),
    "Needs attention": (
        "Reactivation offer with a deadline, based on past categories.",
        "Above-average value but slipping; act before they become at risk.",
    ),
    "At risk": (
        "Win-back campaign: personal outreach, survey, strong time-limited offer.",
        "They used to buy often and spend well but have not bought for a long time.",
    ),
    "Can't lose them": (
        "Account-manager call or premium win-back; find out what went wrong.",
        "Among the highest spenders ever, now inactive: each one is worth a personal effort.",
    ),
    "Hibernating": (
        "Low-cost reminders and seasonal newsletters; suppress from expensive channels.",
        "Low frequency and spend, long inactive; only cheap reactivation pays off.",
    ),
    "Lost / one-time": (
        "Exclude from paid campaigns; include only in broad low-cost reactivation.",
        "One small order long ago; expected return on marketing spend is very low.",
    ),
}


def _percentile(values: np.ndarray, x: float) -> float:
    """Mid-rank percentile of x among values (ties count half)."""
    below = np.mean(values < x)
    equal = np.mean(values == x)
    return float(below + 0.5 * equal)


def rfm_position(features: pd.DataFrame, mask: np.ndarray) -> dict[str, float]:
    """Percentile positions (0..1, higher = better/more) of the segment medians."""
    pos = {}
    for col, key in (
        ("recency_days", "r"),
        ("frequency", "f"),
        ("monetary_total", "m"),
        ("tenure_days", "t"),
    ):
        v = features[col].to_numpy(dtype=float)
        p = _percentile(v, float(np.median(v[mask])))
        pos[key] = 1.0 - p if key == "r" else p
    return pos


def base_name(p: dict[str, float]) -> str:
    r, f, m, t = p["r"], p["f"], p["m"], p["t"]
    if r >= 0.55:
        if f >= 0.75 and m >= 0.75:
            return "Champions"
        if f >= 0.55:
            return "Loyal customers"
        if t <= 0.3:
            return "New customers"
        if m < 0.35:
            return "Price-sensitive occasional"
        return "Potential loyalists"
    if f >= 0.6 or m >= 0.7:
        return "Can't lose them" if r < 0.25 and m >= 0.8 else "At risk"
    if r >= 0.35:
        return "Price-sensitive occasional" if m < 0.35 else "Needs attention"
    if r < 0.2 and f < 0.35:
        return "Lost / one-time"
    return "Hibernating"


def unique_names(names: list[str], spend: list[float]) -> list[str]:
    """Make names unique, telling duplicates apart by spend."""
    out = list(names)
    for name in set(names):
        idx = [i for i, n in enumerate(names) if n == name]
        if len(idx) < 2:
            continue
        idx.sort(key=lambda i: -spend[i])
        tags = (
            ["higher spend", "lower spend"]
            if len(idx) == 2
            else ["high spend"] + ["mid spend"] * (len(idx) - 2) + ["low spend"]
        )
        for i, tag in zip(idx, tags, strict=True):
            out[i] = f"{name} ({tag})"
    seen: dict[str, int] = {}
    for i, n in enumerate(out):  # e.g. several "mid spend": number them
        if out.count(n) > 1:
            seen[n] = seen.get(n, 0) + 1
            out[i] = f"{n} {seen[n]}"
    return out


def playbook_entry(name: str) -> tuple[str, str]:
    base = name.split(" (")[0]
    return PLAYBOOK.get(base, ("Review manually.", "No playbook entry for this segment."))


def _fmt(v: float) -> str:
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


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
    stack = [(0, [])]
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
        if f in lower and f in upper:
            parts.append(f"{_fmt(lower[f])} < {names[f]} <= {_fmt(upper[f])}")
        elif f in lower:
            parts.append(f"{names[f]} > {_fmt(lower[f])}")
        else:
            parts.append(f"{names[f]} <= {_fmt(upper[f])}")
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
) -> list[SegmentProfile]:
    """Profiles for segments 0..K-1 (``features`` holds all computed features)."""
    numeric = [c for c in NUMERIC_FEATURES if c in features.columns]
    vals = features[numeric].to_numpy(dtype=float)
    n = len(features)
    overall_mean = np.nanmean(vals, axis=0)
    # standardise in log space for "what sets it apart" (raw spend is too skewed)
    logv = np.sign(vals) * np.log1p(np.abs(vals))
    log_mean, log_std = np.nanmean(logv, axis=0), np.nanstd(logv, axis=0)
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
    positions, base, spend = [], [], []
    for s in range(K):
        mask = segment_ids == s
        pos = rfm_position(features, mask)
        positions.append(pos)
        base.append(base_name(pos))
        spend.append(float(np.median(revenue[mask])))
    names = unique_names(base, spend)

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
        order = np.argsort(-np.abs(np.nan_to_num(z)))[:3]
        distinguishing = tuple(f"{numeric[j]} ({'high' if z[j] > 0 else 'low'})" for j in order)
        with np.errstate(divide="ignore", invalid="ignore"):
            lift = np.where(overall_mean != 0, means / overall_mean, np.nan)
        rule, acc, prec, rec = segment_rule(Xr, rule_cols, seg_r == s, seed)
        action, rationale = playbook_entry(names[s])
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
                share_revenue=float(revenue[mask].sum() / total_revenue) if total_revenue else 0.0,
                medians=dict(zip(numeric, map(float, medians), strict=True)),
                means=dict(zip(numeric, map(float, means), strict=True)),
                lift=dict(zip(numeric, map(float, lift), strict=True)),
                distinguishing=distinguishing,
                rule=rule,
                rule_accuracy=acc,
                rule_precision=prec,
                rule_recall=rec,
                action=action,
                rationale=rationale,
                top_country=top_country,
            )
        )
    return profiles
