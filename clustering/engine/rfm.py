"""The classic RFM grid beside the clustering.

Quintile scores 1..5 binned by value, so equal customers get equal scores: a customer's
score is 1 + 5 x (share of customers strictly worse on that axis), rounded down.  R = 5 for
the most recent, F and M = 5 for the highest.  Where many customers tie (one-order buyers),
they all share the lowest score their value reaches and some scores stay empty.  The named
segments use the usual R x F map.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from .types import RfmGrid

# (pattern on "<R><F>", name); first match wins.
RFM_SEGMENT_MAP: tuple[tuple[str, str], ...] = (
    (r"[1-2][1-2]", "Hibernating"),
    (r"[1-2][3-4]", "At risk"),
    (r"[1-2]5", "Can't lose them"),
    (r"3[1-2]", "About to sleep"),
    (r"33", "Need attention"),
    (r"[3-4][4-5]", "Loyal customers"),
    (r"41", "Promising"),
    (r"51", "New customers"),
    (r"[4-5][2-3]", "Potential loyalists"),
    (r"5[4-5]", "Champions"),
)


def quintile_score(values: pd.Series, higher_is_better: bool = True) -> np.ndarray:
    """1..5 by the share of customers strictly worse: ties always share a score."""
    v = values.to_numpy(dtype=float)
    if not higher_is_better:
        v = -v
    # customers with a lower value: each value's first place in the sorted order (a search
    # of every value in the sorted array took twice as long at a million customers)
    order = np.argsort(v, kind="stable")
    ranked = v[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    worse = np.empty(len(v), dtype=np.int64)
    worse[order] = np.repeat(starts, np.diff(np.r_[starts, len(v)]))
    return (1 + (5 * worse) // max(len(v), 1)).astype(int).clip(1, 5)


def score_edges(values: pd.Series, scores: np.ndarray) -> tuple[tuple[int, float, float, int], ...]:
    """(score, lowest value, highest value, customers) for each score that occurs."""
    v = values.to_numpy(dtype=float)
    out = []
    for s in np.unique(scores):
        sel = v[scores == s]
        out.append((int(s), float(sel.min()), float(sel.max()), int(len(sel))))
    return tuple(out)


def rfm_segment_name(cell: str) -> str:
    for pattern, name in RFM_SEGMENT_MAP:
        if re.fullmatch(pattern, cell[:2]):
            return name
    return "Other"  # pragma: no cover - the map covers all 25 cells


def rfm_grid(features: pd.DataFrame, segment_names: pd.Series | None = None) -> RfmGrid:
    """Scores for every customer; crosstab and adjusted Rand index against the clusters."""
    r = quintile_score(features["recency_days"], higher_is_better=False)
    f = quintile_score(features["frequency"])
    m = quintile_score(features["monetary_total"])
    # each cell's text and name looked up by its number (str() of a million numbers: 0.9 s)
    cell_text = np.array([str(number) for number in range(556)], dtype=object)
    cells = pd.Series(cell_text[r * 100 + f * 10 + m], index=features.index)
    rf_name = np.array([rfm_segment_name(f"{n:02d}") for n in range(56)], dtype=object)
    rf = pd.Series(rf_name[r * 10 + f], index=features.index)
    scores = pd.DataFrame(
        {
            "r_score": r,
            "f_score": f,
            "m_score": m,
            "rfm_cell": cells,
            "rfm_segment": rf,
        },
        index=features.index,
    )
    edges = {
        "recency_days": score_edges(features["recency_days"], r),
        "frequency": score_edges(features["frequency"], f),
        "monetary_total": score_edges(features["monetary_total"], m),
    }
    if segment_names is None:
        return RfmGrid(scores, pd.DataFrame(), float("nan"), edges)
    # integer codes: crosstab and ARI on 1M Python strings take tens of seconds
    seg_codes, seg_names = pd.factorize(segment_names, sort=True)
    grid_codes, grid_names = pd.factorize(scores["rfm_segment"], sort=True)
    counts = np.zeros((len(seg_names), len(grid_names)), dtype=np.int64)
    np.add.at(counts, (seg_codes, grid_codes), 1)
    crosstab = pd.DataFrame(
        counts,
        index=pd.Index(seg_names, name="segment"),
        columns=pd.Index(grid_names, name="rfm_segment"),
    )
    ari = float(adjusted_rand_score(seg_codes, grid_codes))
    return RfmGrid(scores, crosstab, ari, edges)
