"""Segment quality a manager can rerun: the same data with several seeds, and the checks that
the names are true of the members.  ``make quality`` prints it (scripts/quality.py)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.metrics import adjusted_rand_score

from .activity import MEMBER_SHARE, activity_status, customer_status
from .naming import RULES_BY_NAME, base_of
from .pipeline import run_segmentation
from .types import ACTIVITY_LABELS, ACTIVITY_STATUSES, SegmentationParams, SegmentationResult
from .vocabulary import ALGORITHM_LABELS

SEEDS = (1, 2, 3, 4, 5)


@dataclass
class SeedSweep:
    """One dataset segmented once per seed."""

    dataset: str
    results: dict[int, SegmentationResult]
    planted: pd.Series | None = None  # customer_id -> planted group, for synthetic data
    pairwise: dict[tuple[int, int], float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for a, b in itertools.combinations(self.results, 2):
            self.pairwise[(a, b)] = labels_agreement(self.results[a], self.results[b])


def labels(result: SegmentationResult) -> pd.Series:
    return result.assignments.set_index("customer_id")["segment_id"]


def labels_agreement(a: SegmentationResult, b: SegmentationResult) -> float:
    """Adjusted Rand index of two runs' segments over the customers both segmented."""
    la, lb = labels(a), labels(b)
    common = la.index.intersection(lb.index)
    return float(adjusted_rand_score(la.loc[common], lb.loc[common]))


def sweep(
    dataset: str,
    data: pd.DataFrame,
    seeds: Iterable[int] = SEEDS,
    planted: pd.Series | None = None,
    jobs: int | None = None,
    **params: Any,
) -> SeedSweep:
    """The data segmented once per seed, in ``jobs`` processes (default: one per core, at
    most one per seed). Each run holds itself to its BLAS threads, so the results are those
    of the seeds run one after the other; on two cores the sweep takes about half as long."""
    seeds = list(seeds)
    jobs = jobs or min(len(seeds), os.cpu_count() or 1)
    runs = Parallel(n_jobs=jobs)(
        delayed(run_segmentation)(data, SegmentationParams(seed=s, **params)) for s in seeds
    )
    return SeedSweep(dataset, dict(zip(seeds, runs, strict=True)), planted)


def planted_recovery(result: SegmentationResult, planted: pd.Series) -> float:
    seg = labels(result)
    return float(adjusted_rand_score(planted.loc[seg.index], seg))


def name_violations(result: SegmentationResult) -> list[str]:
    """Every way a segment's name is not true of it; [] when all names hold."""
    problems = []
    feats = result.features
    rhythm = result.activity
    assert rhythm is not None  # every run the engine returns has the shop's rhythm
    days = activity_status(feats["recency_days"].to_numpy(dtype=float), rhythm)
    by_evidence = {"recency": days, "p_alive": member_status_by_p_alive(result)}
    seg = labels(result).loc[feats.index].to_numpy()
    for p in result.segments:
        status = by_evidence.get(p.activity_evidence, days)
        rule = RULES_BY_NAME.get(base_of(p.name))
        if rule is None:
            problems.append(f"{p.name}: no rule for this name")
            continue
        if p.value not in rule.value or p.engagement not in rule.engagement:
            problems.append(f"{p.name}: value {p.value}, engagement {p.engagement}")
        if p.activity not in rule.activity:
            problems.append(f"{p.name}: activity {p.activity} not among {sorted(rule.activity)}")
        allowed = [ACTIVITY_STATUSES.index(s) for s in ACTIVITY_LABELS[p.activity]]
        share = float(np.isin(status[seg == p.segment_id], allowed).mean())
        if share < MEMBER_SHARE:
            problems.append(f"{p.name}: only {share:.0%} of members {p.activity}")
        if p.activity == "active" and p.activity_evidence == "p_alive":
            # the model may keep a fast buyer active through a few silent gaps, not through
            # more than twice the shop's rhythm
            lapsed = float((days[seg == p.segment_id] == 2).mean())
            if lapsed > 1 - MEMBER_SHARE:
                problems.append(f"{p.name}: active by P(alive), but {lapsed:.0%} lapsed by days")
        problems += [
            f"{p.name}: {c.condition} fails ({c.observed})" for c in p.conditions if not c.holds
        ]
    return problems


def member_status_by_p_alive(result: SegmentationResult) -> np.ndarray:
    """Each customer's status as a segment named by P(alive) counts it: repeat buyers by
    their P(alive), one-time buyers by days (activity.customer_status)."""
    feats, rhythm = result.features, result.activity
    assert rhythm is not None
    columns = result.assignments.columns
    if rhythm.evidence != "p_alive" or "p_alive" not in columns:
        return activity_status(feats["recency_days"].to_numpy(dtype=float), rhythm)
    p_alive = result.assignments.set_index("customer_id")["p_alive"]
    return customer_status(feats, rhythm, p_alive)


def behaviour_conflicts(result: SegmentationResult) -> list[str]:
    """Pairs of segments on the same three axes with different actions."""
    out = []
    for a, b in itertools.combinations(result.segments, 2):
        same = (a.value, a.engagement, a.activity) == (b.value, b.engagement, b.activity)
        if same and a.action != b.action:
            out.append(f"{a.name} / {b.name}")
    return out


def summary_rows(sw: SeedSweep) -> pd.DataFrame:
    rows = []
    for seed, r in sw.results.items():
        top = max(r.segments, key=lambda p: p.share_revenue / max(p.share_customers, 1e-12))
        lift = top.share_revenue / top.share_customers
        rows.append(
            {
                "seed": seed,
                "chosen": f"{ALGORITHM_LABELS[r.chosen.algorithm]} k={r.chosen.n_clusters}",
                "segments": len(r.segments),
                "stability": round(r.stability.mean_adjusted_rand, 3),
                "verdict": r.stability.words,
                "smallest": f"{min(p.share_customers for p in r.segments):.1%}",
                "names hold": "yes" if not name_violations(r) else "NO",
                "top segment": f"{top.name}: {top.share_revenue:.0%} of revenue from "
                f"{top.share_customers:.0%} of customers ({lift:.1f}x)",
                "planted ARI": (
                    round(planted_recovery(r, sw.planted), 3) if sw.planted is not None else ""
                ),
            }
        )
    return pd.DataFrame(rows)


def report(sw: SeedSweep) -> str:
    """The printed section for one dataset."""
    first = next(iter(sw.results.values()))
    lines = [f"## {sw.dataset}: {first.n_customers:,} customers", ""]
    with pd.option_context("display.width", 250, "display.max_colwidth", 90):
        lines.append(summary_rows(sw).to_string(index=False))
    aris = list(sw.pairwise.values())
    lines += [
        "",
        f"pairwise ARI across seeds: min {min(aris):.3f}, mean {np.mean(aris):.3f}"
        if aris
        else "one seed only",
        f"RFM grid vs clusters (seed {next(iter(sw.results))}): ARI {first.rfm.adjusted_rand:.2f}",
        "",
        f"segments (seed {next(iter(sw.results))}):",
    ]
    for p in first.segments:
        lines.append(
            f"- {p.name} ({p.share_customers:.1%} of customers, {p.share_revenue:.1%} of revenue)"
            f": {p.value} value, {p.engagement}, {p.activity}. Why: {p.why}"
        )
        for c in p.conditions:
            lines.append(f"    [{'x' if c.holds else ' '}] {c.condition}: {c.observed}")
    problems = name_violations(first) + behaviour_conflicts(first)
    lines += ["", "problems: " + ("; ".join(problems) if problems else "none")]
    lines += [f"note: {n}" for n in first.notes]
    return "\n".join(lines)
