"""The movements from customers counted per pair of segments (what the database sums) are
those from the customers themselves: the same matches, kept shares and flows in the same
order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clustering.engine.movements import flow_table, match_crosstab, match_segments, order_flows


def _runs(seed: int, *, overlap: bool = True):
    """Two runs' assignments: segment and revenue per customer id, some customers in one
    run only, a segment of each run without members."""
    rng = np.random.default_rng(seed)
    ids = np.arange(600)
    in_earlier = rng.random(600) < 0.85
    in_later = (rng.random(600) < 0.85) if overlap else ~in_earlier
    earlier = pd.DataFrame(
        {
            "segment": rng.integers(0, 4, size=600),
            # whole numbers: sums are exact whatever their order
            "revenue": rng.integers(0, 500, size=600).astype(float),
        },
        index=ids,
    )[in_earlier]
    later = pd.DataFrame(
        {
            "segment": (earlier["segment"].reindex(ids).fillna(0).to_numpy() + 1) % 5
            if seed % 2
            else rng.integers(0, 5, size=600),
            "revenue": rng.integers(0, 500, size=600).astype(float),
        },
        index=ids,
    )[in_later]
    earlier_names = {0: "Champions", 1: "Loyal", 2: "At risk", 3: "Lost", 4: "Empty"}
    later_names = {0: "Loyal", 1: "Champions", 2: "New", 3: "At risk", 4: "Lost", 5: "Empty"}
    return earlier, later, earlier_names, later_names


def _crosstab(earlier: pd.DataFrame, later: pd.DataFrame) -> pd.DataFrame:
    """What the database's join ... GROUP BY gives, in no particular order."""
    joined = earlier.add_suffix("_e").join(later.add_suffix("_l"), how="outer")
    joined["revenue"] = joined["revenue_e"].fillna(joined["revenue_l"])
    pairs = (
        joined.groupby(["segment_e", "segment_l"], dropna=False)
        .agg(customers=("revenue", "size"), revenue=("revenue", "sum"))
        .reset_index()
        .rename(columns={"segment_e": "source", "segment_l": "target"})
    )
    return pairs.sample(frac=1, random_state=0)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_crosstab_gives_the_same_matches_and_flows_as_the_customers(seed):
    earlier, later, earlier_names, later_names = _runs(seed)
    pairs = _crosstab(earlier, later)

    matching = match_crosstab(pairs, earlier_names, later_names)

    assert matching == match_segments(
        earlier["segment"], later["segment"], earlier_names, later_names
    )
    if seed % 2:  # the later run renumbers the earlier's segments: each continues one
        assert sorted(n for n in matching.continues.values() if n is not None) == [0, 1, 2, 3]
    pd.testing.assert_frame_equal(order_flows(pairs), flow_table(earlier, later))


def test_runs_without_a_customer_in_common_match_nothing():
    earlier, later, earlier_names, later_names = _runs(5, overlap=False)
    pairs = _crosstab(earlier, later)

    matching = match_crosstab(pairs, earlier_names, later_names)

    assert matching.continues == dict.fromkeys(later_names)
    assert matching.kept == dict.fromkeys(earlier_names, 0.0)
    assert matching == match_segments(
        earlier["segment"], later["segment"], earlier_names, later_names
    )
    pd.testing.assert_frame_equal(order_flows(pairs), flow_table(earlier, later))


def test_equal_flows_are_ordered_by_source_then_target_new_and_gone_last():
    pairs = pd.DataFrame(
        {
            "source": pd.array([None, 1, 0, 1, 0], dtype="Int64"),
            "target": pd.array([0, None, 1, 0, 0], dtype="Int64"),
            "customers": [2, 2, 2, 2, 9],
            "revenue": [5.0, 5.0, 5.0, 5.0, 1.0],
        }
    )

    ordered = order_flows(pairs)

    assert [
        (None if pd.isna(s) else int(s), None if pd.isna(t) else int(t))
        for s, t in zip(ordered["source"], ordered["target"], strict=True)
    ] == [(0, 0), (0, 1), (1, 0), (1, None), (None, 0)]
