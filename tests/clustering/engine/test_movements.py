"""Matching segments across runs by their members and names, and counting the flows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from clustering.engine.movements import MIN_OVERLAP, flow_table, match_segments


def _labels(pairs: list[tuple[str, int]]) -> pd.Series:
    return pd.Series(dict(pairs))


def test_renumbered_segments_are_matched_by_their_members():
    rng = np.random.default_rng(3)
    customers = [f"c{i}" for i in range(300)]
    groups = rng.integers(0, 3, size=300)
    earlier = pd.Series(groups, index=customers)
    later = pd.Series((groups + 1) % 3, index=customers)  # the same groups, renumbered
    names = {0: "Champions", 1: "Loyal", 2: "At risk"}
    later_names = {(n + 1) % 3: name for n, name in names.items()}
    matching = match_segments(earlier, later, names, later_names)
    assert matching.continues == {1: 0, 2: 1, 0: 2}
    assert matching.kept == {0: 1.0, 1: 1.0, 2: 1.0}


def test_a_split_keeps_the_name_where_it_went_and_the_other_half_is_new():
    earlier = _labels([(f"a{i}", 0) for i in range(100)] + [(f"b{i}", 1) for i in range(100)])
    later = _labels(
        [(f"a{i}", 0 if i < 50 else 2) for i in range(100)] + [(f"b{i}", 1) for i in range(100)]
    )
    matching = match_segments(
        earlier,
        later,
        {0: "Champions", 1: "Lost"},
        {0: "Big spenders", 1: "Lost", 2: "Champions"},
    )
    # Both halves overlap Champions equally; the name breaks the tie.
    assert matching.continues == {0: None, 1: 1, 2: 0}
    assert matching.kept == {0: 0.5, 1: 1.0}


def test_groups_that_share_too_few_members_are_not_the_same_segment():
    earlier = _labels([(f"c{i}", 0 if i < 100 else 1) for i in range(200)])
    # later segment 0 takes 5 of segment 0's 100 members and 95 of segment 1's
    later = _labels([(f"c{i}", 0 if i < 5 or i >= 105 else 1) for i in range(200)])
    matching = match_segments(earlier, later, {0: "A", 1: "B"}, {0: "A", 1: "B"})
    overlap_a = 5 / (100 + 100 - 5)
    assert overlap_a < MIN_OVERLAP
    # the Hungarian method prefers the two large overlaps over the same names
    assert matching.continues == {0: 1, 1: 0}


def test_flows_count_every_customer_once_and_new_and_gone_apart():
    earlier = pd.DataFrame(
        {"segment": [0, 0, 1, 1], "revenue": [10.0, 20.0, 5.0, 7.0]},
        index=["a", "b", "c", "gone"],
    )
    later = pd.DataFrame(
        {"segment": [0, 1, 1, 1], "revenue": [99.0, 99.0, 99.0, 3.0]},
        index=["a", "b", "c", "new"],
    )
    flows = flow_table(earlier, later)
    rows = {
        (None if pd.isna(s) else int(s), None if pd.isna(t) else int(t)): (c, r)
        for s, t, c, r in flows.itertuples(index=False)
    }
    assert rows == {
        (0, 0): (1, 10.0),
        (0, 1): (1, 20.0),
        (1, 1): (1, 5.0),
        (1, None): (1, 7.0),
        (None, 1): (1, 3.0),
    }
    assert flows["customers"].sum() == 5
