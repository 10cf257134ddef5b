"""Which segment of a later segmentation continues which segment of an earlier one, and
how many customers went from each to each.

Segment numbers mean nothing across runs (a refit may number the same group 0 or 4), so
segments are matched by their members: the pairs that share the largest part of their
customers (Jaccard overlap), one-to-one by the Hungarian method, with a bonus for the same
name so that two halves of a split keep the name where it went. A later segment whose best
partner shares less than ``MIN_OVERLAP`` of the union is new; an earlier segment without a
partner ended.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

#: Below this Jaccard overlap two segments are not the same group, whatever their names.
MIN_OVERLAP = 0.1
#: How much the same name weighs against overlap when pairing (a tie-breaker, not a rule).
SAME_NAME_BONUS = 0.25


@dataclass(frozen=True)
class Matching:
    """later segment number -> the earlier number it continues (None: a new segment), and
    for each earlier segment the share of its members (among customers in both runs) that
    are in its continuation (0 when nothing continues it)."""

    continues: dict[int, int | None]
    kept: dict[int, float]


def match_segments(
    earlier: pd.Series,
    later: pd.Series,
    earlier_names: Mapping[int, str],
    later_names: Mapping[int, str],
) -> Matching:
    """Match segments by members and names.

    earlier, later: segment number per customer id (the index); only customers in both
    count. The name maps list every segment of each run, members or not.
    """
    both = earlier.index.intersection(later.index)
    pairs = (
        pd.DataFrame({"source": earlier.loc[both].to_numpy(), "target": later.loc[both].to_numpy()})
        .groupby(["source", "target"])
        .size()
        .reset_index(name="customers")
    )
    return match_crosstab(pairs, earlier_names, later_names)


def match_crosstab(
    pairs: pd.DataFrame,
    earlier_names: Mapping[int, str],
    later_names: Mapping[int, str],
) -> Matching:
    """match_segments from the customers counted per pair of segments instead of per
    customer: columns ``source``, ``target`` (segment numbers, <NA> for a customer absent
    from that run: such rows are ignored) and ``customers``."""
    e_numbers, l_numbers = sorted(earlier_names), sorted(later_names)
    e_index = {n: i for i, n in enumerate(e_numbers)}
    l_index = {n: i for i, n in enumerate(l_numbers)}
    counts = np.zeros((len(e_numbers), len(l_numbers)))
    both = pairs.dropna(subset=["source", "target"])
    for source, target, customers in zip(
        both["source"], both["target"], both["customers"], strict=True
    ):
        if int(source) in e_index and int(target) in l_index:
            counts[e_index[int(source)], l_index[int(target)]] += customers
    e_sizes = counts.sum(axis=1, keepdims=True)
    l_sizes = counts.sum(axis=0, keepdims=True)
    union = e_sizes + l_sizes - counts
    jaccard = np.divide(counts, union, out=np.zeros_like(counts), where=union > 0)
    same_name = np.array(
        [[earlier_names[e] == later_names[lat] for lat in l_numbers] for e in e_numbers],
        dtype=float,
    ).reshape(counts.shape)
    score = jaccard + SAME_NAME_BONUS * same_name * (counts > 0)
    continues: dict[int, int | None] = dict.fromkeys(l_numbers)
    kept = dict.fromkeys(e_numbers, 0.0)
    if counts.size:
        rows, cols = linear_sum_assignment(score, maximize=True)
        for row, col in zip(rows, cols, strict=True):
            if jaccard[row, col] >= MIN_OVERLAP:
                continues[l_numbers[col]] = e_numbers[row]
                kept[e_numbers[row]] = (
                    float(counts[row, col] / e_sizes[row, 0]) if e_sizes[row, 0] else 0.0
                )
    return Matching(continues=continues, kept=kept)


def flow_table(
    earlier: pd.DataFrame,
    later: pd.DataFrame,
) -> pd.DataFrame:
    """Customers and revenue per (source, target) pair.

    earlier, later: indexed by customer id, with columns ``segment`` and ``revenue``.
    source is <NA> for customers new to the later run, target <NA> for those absent from
    it. Revenue is the earlier run's (what the customers were worth before they moved);
    for new customers, the later run's. Largest first (customers, then revenue).
    """
    joined = earlier.add_suffix("_before").join(later.add_suffix("_after"), how="outer")
    revenue = joined["revenue_before"].fillna(joined["revenue_after"]).fillna(0.0)
    table = pd.DataFrame(
        {
            "source": joined["segment_before"].astype("Int64"),
            "target": joined["segment_after"].astype("Int64"),
            "revenue": revenue,
        }
    )
    flows = (
        table.groupby(["source", "target"], dropna=False)
        .agg(customers=("revenue", "size"), revenue=("revenue", "sum"))
        .reset_index()
    )
    return order_flows(flows)


def order_flows(flows: pd.DataFrame) -> pd.DataFrame:
    """flow_table's rows from customers and revenue already summed per (source, target)
    pair (columns ``source``, ``target``, ``customers``, ``revenue``; <NA> for new or gone
    customers), in flow_table's order: largest first, ties by source then target, <NA>
    last."""
    table = pd.DataFrame(
        {
            "source": pd.array(flows["source"], dtype="Int64"),
            "target": pd.array(flows["target"], dtype="Int64"),
            "customers": flows["customers"].astype("int64"),
            "revenue": flows["revenue"].astype(float),
        }
    )
    by_pair = table.sort_values(["source", "target"], na_position="last", kind="stable")
    return by_pair.sort_values(
        ["customers", "revenue"], ascending=False, kind="stable"
    ).reset_index(drop=True)
