"""Names, playbook, rules and the classic RFM grid."""

import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from clustering.engine.activity import (
    activity_label,
    activity_status,
    shop_rhythm,
    split_mixed_segments,
)
from clustering.engine.naming import NAME_RULES, PLAYBOOK, TAG_WORDS, Axes, rule_for, unique_names
from clustering.engine.profiling import _condition, build_profiles, segment_rule
from clustering.engine.rfm import quintile_score, rfm_grid, rfm_segment_name
from clustering.engine.types import (
    ACTIVITY_LABELS,
    ENGAGEMENT_TIERS,
    VALUE_TIERS,
    ActivityRhythm,
)


@pytest.mark.parametrize(
    ("axes", "name"),
    [
        (("top", "frequent", "active"), "Champions"),
        (("high", "frequent", "active"), "Loyal customers"),
        (("low", "repeat", "active"), "Potential loyalists"),
        (("mid", "one-time", "active"), "New customers"),
        (("high", "repeat", "slipping"), "Needs attention"),
        (("low", "one-time", "cooling"), "Price-sensitive occasional"),
        (("top", "frequent", "lapsed"), "Can't lose them"),
        (("mid", "repeat", "inactive"), "At risk"),
        (("low", "repeat", "lapsed"), "Hibernating"),
        (("low", "one-time", "lapsed"), "Lost / one-time"),
        (("top", "frequent", "mixed"), "Mixed activity"),
    ],
)
def test_names_follow_the_three_axes(axes, name):
    assert rule_for(*axes).name == name


def test_every_combination_of_axes_has_one_name_with_a_playbook_entry():
    for axes in itertools.product(VALUE_TIERS, ENGAGEMENT_TIERS, ACTIVITY_LABELS):
        rule = rule_for(*axes)
        assert rule.name in PLAYBOOK
    assert len(PLAYBOOK) == len(NAME_RULES)  # no name listed twice


def test_names_never_claim_what_the_axes_deny():
    for axes in itertools.product(VALUE_TIERS, ENGAGEMENT_TIERS, ACTIVITY_LABELS):
        name = rule_for(*axes).name
        value, engagement, activity = axes
        if name == "Champions":
            assert value == "top" and activity == "active"
        if name in {"Hibernating", "Lost / one-time", "At risk", "Can't lose them"}:
            assert activity in {"inactive", "lapsed"}
        if name == "Needs attention":
            assert activity not in {"lapsed", "inactive"}


def test_activity_label_is_the_most_specific_that_covers_ninety_percent():
    assert activity_label({"active": 0.95, "cooling": 0.05, "lapsed": 0.0}) == "active"
    assert activity_label({"active": 0.6, "cooling": 0.35, "lapsed": 0.05}) == "slipping"
    assert activity_label({"active": 0.05, "cooling": 0.3, "lapsed": 0.65}) == "inactive"
    assert activity_label({"active": 0.2, "cooling": 0.36, "lapsed": 0.44}) == "mixed"


def test_rhythm_comes_from_repeat_customers_gaps():
    gaps = np.r_[np.arange(1.0, 101.0), np.full(50, np.nan)]
    rhythm = shop_rhythm(pd.DataFrame({"mean_days_between_purchases": gaps}))
    assert rhythm.repeat_customers == 100
    assert rhythm.active_days == np.ceil(np.quantile(np.arange(1.0, 101.0), 0.8))
    assert rhythm.lapsed_days == 2 * rhythm.active_days
    status = activity_status(np.array([0.0, 81.0, 82.0, 162.0, 163.0]), rhythm)
    np.testing.assert_array_equal(status, [0, 0, 1, 1, 2])


def test_a_mixed_segment_is_split_by_activity_and_ids_stay_biggest_first():
    rhythm = ActivityRhythm(100.0, 200.0, 50, "test")
    recency = np.r_[np.full(30, 10.0), np.full(40, 150.0), np.full(30, 300.0), np.full(60, 5.0)]
    seg = np.r_[np.zeros(100, int), np.ones(60, int)]
    feats = pd.DataFrame({"recency_days": recency})
    new, split_map, notes = split_mixed_segments(feats, seg, rhythm, 0.01)
    assert len(notes) == 1 and split_map.shape == (2, 2)
    # segment 0 (30 active, 70 not) is split; segment 1 (all active) is not
    assert split_map[1, 0] == split_map[1, 1]
    sizes = np.bincount(new)
    assert list(sizes) == sorted(sizes, reverse=True) and sorted(sizes) == [30, 60, 70]
    assert len(set(new[:30])) == 1 and len(set(new[30:100])) == 1 and new[0] != new[30]
    np.testing.assert_array_equal(new, split_map[seg, (recency > 100).astype(int)])


def _axes(value: str, engagement: str, activity: str, spend: float = 100.0) -> Axes:
    return Axes(value, engagement, activity, {}, 0.5, spend, 2.0, 30.0, 3.0)


def test_duplicate_names_are_told_apart_by_the_axis_where_they_differ():
    names = ["At risk", "Champions", "At risk"]
    axes = [
        _axes("mid", "repeat", "lapsed"),
        _axes("top", "frequent", "active"),
        _axes("high", "repeat", "lapsed"),
    ]
    assert unique_names(names, axes) == ["At risk (mid spend)", "Champions", "At risk (high spend)"]
    # Same value: engagement tells them apart (CDNOW's two "At risk", the lower-spending one
    # the more frequent), whichever spends more.
    axes = [_axes("high", "repeat", "inactive", 126), _axes("high", "frequent", "inactive", 89)]
    assert unique_names(["At risk"] * 2, axes) == [
        "At risk (repeat buyers)",
        "At risk (frequent buyers)",
    ]


def test_a_group_no_single_axis_tells_apart_is_tagged_by_the_fewest_that_do():
    axes = [
        _axes("high", "frequent", "lapsed"),
        _axes("mid", "frequent", "inactive"),
        _axes("mid", "repeat", "inactive"),
    ]
    assert unique_names(["At risk"] * 3, axes) == [
        "At risk (high spend, frequent buyers)",
        "At risk (mid spend, frequent buyers)",
        "At risk (mid spend, repeat buyers)",
    ]


def test_segments_alike_on_every_axis_are_told_apart_by_spend():
    alike = [_axes("low", "one-time", "lapsed", spend) for spend in (10, 99, 50)]
    assert unique_names(["Lost / one-time"] * 3, alike) == [
        "Lost / one-time (low spend)",
        "Lost / one-time (high spend)",
        "Lost / one-time (mid spend)",
    ]
    two = unique_names(["At risk"] * 2, [_axes("mid", "repeat", "lapsed", s) for s in (5, 9)])
    assert two == ["At risk (lower spend)", "At risk (higher spend)"]
    four = unique_names(
        ["Lost / one-time"] * 4, [_axes("low", "one-time", "lapsed", s) for s in (4, 3, 2, 1)]
    )
    assert len(set(four)) == 4
    assert four[0] == "Lost / one-time (high spend)" and four[3] == "Lost / one-time (low spend)"


def test_the_longest_told_apart_name_fits_the_stored_segment_name():
    # clustering.models.Segment.name holds 80 characters (the engine does not import Django).
    name = max((rule.name for rule in NAME_RULES), key=len)
    tags = ", ".join(max(words.values(), key=len) for words in TAG_WORDS.values())
    assert len(f"{name} ({tags})") <= 80


def test_rule_recovers_a_threshold():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 100, size=(500, 2))
    y = X[:, 0] <= 30
    rule, acc, prec, rec = segment_rule(X, ["recency_days", "frequency"], y, seed=0)
    assert rule.startswith("recency_days <= 3")
    assert acc > 0.98 and prec > 0.98 and rec > 0.98


def test_a_rule_on_counts_reads_in_whole_numbers():
    rng = np.random.default_rng(1)
    orders = rng.integers(1, 12, size=600).astype(float)
    spend = rng.uniform(0, 500, size=600)
    X = np.c_[orders, spend]
    rule, acc, prec, rec = segment_rule(X, ["frequency", "monetary_total"], orders <= 2, seed=0)
    assert (rule, acc, prec, rec) == ("frequency <= 2", 1.0, 1.0, 1.0)  # the tree split at 2.5
    # each shape of bounds, as the tree gives them (half way between two whole values)
    assert _condition("frequency", 4.5, None, whole=True) == "frequency >= 5"
    assert _condition("frequency", 2.5, 6.5, whole=True) == "3 <= frequency <= 6"
    assert _condition("frequency", 3.5, 4.5, whole=True) == "frequency = 4"
    assert _condition("return_rate", 0.25, None, whole=False) == "return_rate > 0.25"


def test_profiles_on_two_obvious_groups():
    n, m = 100, 300  # the big spenders are the top quarter
    feats = pd.DataFrame(
        {
            # the big spenders' median recency is 5.5 days: the sentence says whole days
            "recency_days": np.r_[np.full(n // 2, 5.0), np.full(n // 2, 6.0), np.full(m, 300.0)],
            "frequency": np.r_[np.full(n, 20.0), np.ones(m)],
            "monetary_total": np.r_[np.full(n, 5000.0), np.full(m, 50.0)],
            "tenure_days": np.r_[np.full(n, 360.0), np.full(m, 300.0)],
            "avg_basket_value": np.r_[np.full(n, 250.0), np.full(m, 50.0)],
            "distinct_products": 10.0,
            "return_rate": 0.0,
            "mean_days_between_purchases": np.r_[np.full(n, 18.0), np.full(m, np.nan)],
            "country": "UK",
        },
        index=[str(i) for i in range(n + m)],
    )
    seg = np.r_[np.zeros(n, int), np.ones(m, int)]
    profiles = build_profiles(feats, seg, ("recency_days", "frequency", "monetary_total"))
    # the shop's repeat customers buy every 18 days: 5 days ago is active, 300 lapsed
    assert profiles[0].name == "Champions"
    assert profiles[1].name == "Lost / one-time"
    assert (profiles[0].value, profiles[0].engagement, profiles[0].activity) == (
        "top",
        "frequent",
        "active",
    )
    assert profiles[1].activity_shares["lapsed"] == 1.0
    assert all(c.holds for p in profiles for c in p.conditions)
    assert profiles[0].why.startswith("bought 6 days ago, 20 orders, ")
    assert "spent (medians): " in profiles[0].why
    assert profiles[1].why.startswith("bought 300 days ago, 1 order, ")
    assert "5,000 spent" in profiles[0].why and "£" not in profiles[0].why
    # with the shop's currency symbol, every amount in the names' sentences carries it
    priced = build_profiles(
        feats, seg, ("recency_days", "frequency", "monetary_total"), money_prefix="£"
    )
    assert "20 orders, £5,000 spent (medians): top" in priced[0].why
    assert "£50.00 spent" in priced[1].why and "1 order, 50.00 spent" in profiles[1].why
    value_checks = [c for p in priced for c in p.conditions if c.observed.startswith("median")]
    spend_checks = [c.observed for c in value_checks if "spend" in c.observed]
    assert spend_checks and all(o.startswith("median spend £") for o in spend_checks)
    # the amounts' words change, nothing else
    assert [p.name for p in priced] == [p.name for p in profiles]
    assert priced[0].why.replace("£", "") == profiles[0].why
    assert profiles[0].share_revenue == pytest.approx(5000 * n / (5000 * n + 50 * m))
    mean = (5000 * n + 50 * m) / (n + m)
    assert profiles[0].lift["monetary_total"] == pytest.approx(5000 / mean)
    assert profiles[0].rule_accuracy == 1.0
    assert profiles[1].top_country == "UK"
    # one value in the whole shop tells no segment apart: no row for it in any profile
    for profile in profiles:
        assert set(profile.medians) == set(profile.means) == set(profile.lift)
        assert {"distinct_products", "return_rate"}.isdisjoint(profile.medians)
        assert "tenure_days" in profile.lift
        assert not any(
            d.startswith(("distinct_products", "return_rate")) for d in profile.distinguishing
        )


def test_recency_orders_and_spend_stay_in_profiles_when_every_customer_has_the_same():
    n = 50  # everyone bought once, 30 days ago, for 20: a shop's first month
    feats = pd.DataFrame(
        {
            "recency_days": 30.0,
            "frequency": 1.0,
            "monetary_total": 20.0,
            "tenure_days": 30.0,
            "avg_basket_value": np.r_[np.full(n, 20.0), np.full(n, 10.0)],
            "mean_days_between_purchases": np.nan,  # no repeat purchase: no row either
        },
        index=[str(i) for i in range(2 * n)],
    )
    seg = np.r_[np.zeros(n, int), np.ones(n, int)]
    profiles = build_profiles(feats, seg, ("avg_basket_value",))
    for profile in profiles:
        assert list(profile.medians) == [
            "recency_days",
            "frequency",
            "monetary_total",
            "avg_basket_value",
        ]
        assert profile.lift["frequency"] == 1.0


def test_rfm_scores_are_equal_for_equal_customers_and_edges_describe_the_bins():
    # 60% one-time buyers: they all share the lowest F score, none is split by row order
    freq = pd.Series(np.r_[np.ones(60), np.arange(2.0, 42.0)])
    f = quintile_score(freq)
    assert len(set(f[:60])) == 1 and f[0] == 1
    assert all(f[i] <= f[j] for i in range(100) for j in range(100) if freq[i] < freq[j])
    feats = pd.DataFrame(
        {"recency_days": freq[::-1].to_numpy(), "frequency": freq, "monetary_total": freq * 3}
    )
    grid = rfm_grid(feats)
    edges = grid.edges["frequency"]
    assert sum(e[3] for e in edges) == 100
    assert edges[0] == (1, 1.0, 1.0, 60)
    for (_, _, hi, _), (_, lo, _, _) in itertools.pairwise(edges):
        assert hi < lo  # bins do not overlap


def test_rfm_score_is_the_share_of_customers_strictly_worse_in_any_order():
    rng = np.random.default_rng(7)
    values = pd.Series(rng.integers(0, 12, 997).astype(float))  # many ties, unsorted
    worse = (values.to_numpy()[None, :] < values.to_numpy()[:, None]).sum(axis=1)
    np.testing.assert_array_equal(quintile_score(values), 1 + (5 * worse) // len(values))
    better = (values.to_numpy()[None, :] > values.to_numpy()[:, None]).sum(axis=1)
    np.testing.assert_array_equal(
        quintile_score(values, higher_is_better=False), 1 + (5 * better) // len(values)
    )
    assert len(quintile_score(pd.Series([], dtype=float))) == 0


def test_rfm_quintiles_and_named_cells():
    values = pd.Series(np.arange(10.0))
    np.testing.assert_array_equal(quintile_score(values), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5])
    np.testing.assert_array_equal(
        quintile_score(values, higher_is_better=False), [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    )
    assert rfm_segment_name("555") == "Champions"
    assert rfm_segment_name("111") == "Hibernating"
    assert rfm_segment_name("151") == "Can't lose them"
    assert rfm_segment_name("511") == "New customers"
    feats = pd.DataFrame(
        {
            "recency_days": np.arange(10.0),
            "frequency": np.arange(10.0)[::-1],
            "monetary_total": np.arange(10.0)[::-1] * 10,
        }
    )
    clusters = pd.Series(["a"] * 5 + ["b"] * 5)
    grid = rfm_grid(feats, clusters)
    assert grid.scores.loc[0, "rfm_cell"] == "555"
    assert grid.scores.loc[9, "rfm_segment"] == "Hibernating"
    assert grid.crosstab.to_numpy().sum() == 10
    assert grid.adjusted_rand == pytest.approx(
        adjusted_rand_score(clusters, grid.scores["rfm_segment"])
    )
