"""The rules against hand-made movements: no database, no mail (alerts/rules.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError

from alerts.models import parse_recipients
from alerts.rules import evaluate, run_failures, segment_sizes
from clustering.movements import Flow, Movements, SegmentRef

LOYAL_BEFORE = SegmentRef(1, "Loyal customers", valuable=True, lapsed=False)
LOYAL_AFTER = SegmentRef(4, "Loyal customers", valuable=True, lapsed=False)
CHAMPIONS = SegmentRef(2, "Champions", valuable=True, lapsed=False)
AT_RISK = SegmentRef(7, "At risk", valuable=False, lapsed=True)
BARGAIN = SegmentRef(3, "Bargain hunters", valuable=False, lapsed=False)
BARGAIN_AFTER = SegmentRef(5, "Bargain hunters", valuable=False, lapsed=False)
NEWCOMERS = SegmentRef(9, "Newcomers", valuable=False, lapsed=False)
LAPSED_VIP = SegmentRef(6, "Lapsed big spenders", valuable=True, lapsed=True)
PUBLISHED = date(2026, 12, 1)


@dataclass
class Rule:
    pk: int
    kind: str
    threshold: float | None = None
    min_customers: int | None = None


def flow(source, target, customers, revenue=0.0):
    moved = not (source and target and source.name == target.name)
    return Flow(source, target, customers, revenue, moved, sentence="")


def movements(flows, matches, currency="GBP"):
    return Movements(
        earlier_run=None, later_run=None, earlier=None, later=None, currency=currency,
        flows=flows, in_both=0, new=0, gone=0, matches=matches, kept={},
    )  # fmt: skip


# Loyal 1,058 -> 804 (-24%); Bargain hunters 500 -> 540 (+8%); Newcomers new.
SHRINKING = movements(
    [
        flow(LOYAL_BEFORE, LOYAL_AFTER, 800),
        flow(LOYAL_BEFORE, AT_RISK, 200),
        flow(LOYAL_BEFORE, None, 58),
        flow(BARGAIN, BARGAIN_AFTER, 500),
        flow(None, BARGAIN_AFTER, 40),
        flow(None, LOYAL_AFTER, 4),
        flow(None, NEWCOMERS, 90),
        flow(None, AT_RISK, 10),
    ],
    {4: 1, 5: 3, 9: None, 7: None},
)


def test_sizes_are_counted_from_the_flows():
    earlier, later = segment_sizes(SHRINKING)
    assert earlier == {1: 1058, 3: 500}
    assert later == {4: 804, 7: 210, 5: 540, 9: 90}


def test_a_segment_that_shrank_past_the_threshold_fires_in_words():
    [firing] = evaluate([Rule(1, "segment_size_change", threshold=20)], SHRINKING,
                        published_on=PUBLISHED)  # fmt: skip
    assert firing.rule_id == 1
    assert firing.kind == "segment_size_change"
    assert firing.message == (
        "Loyal customers shrank by 24% (1,058 → 804 customers) in the run published on 1 Dec 2026"
    )
    assert firing.details == {
        "segment": 4, "continues": 1, "before": 1058, "after": 804,
        "change_percent": -24.0, "threshold": 20.0,
    }  # fmt: skip


def test_growth_fires_too_and_new_segments_never_do():
    firings = evaluate([Rule(2, "segment_size_change", threshold=5)], SHRINKING,
                       published_on=PUBLISHED)  # fmt: skip
    assert [f.message.split(" (")[0] for f in firings] == [
        "Loyal customers shrank by 24%",
        "Bargain hunters grew by 8%",
    ]


def test_a_change_of_exactly_the_threshold_does_not_fire():
    # Bargain hunters changed by exactly 8%; "more than" 8 is not met.
    firings = evaluate([Rule(3, "segment_size_change", threshold=8)], SHRINKING,
                       published_on=PUBLISHED)  # fmt: skip
    assert [f.details["segment"] for f in firings] == [4]
    assert evaluate([Rule(3, "segment_size_change", threshold=30)], SHRINKING,
                    published_on=PUBLISHED) == []  # fmt: skip


LAPSING = movements(
    [
        flow(CHAMPIONS, AT_RISK, 312, 41_200.4),
        flow(CHAMPIONS, BARGAIN_AFTER, 400, 9_000),  # to a segment that is not lapsed
        flow(LAPSED_VIP, AT_RISK, 500, 70_000),  # already lapsed: no news
        flow(BARGAIN, AT_RISK, 900, 1_000),  # not valuable
        flow(LOYAL_BEFORE, AT_RISK, 120, 8_000),
    ],
    {7: None, 5: 3},
    currency="EUR",
)


def test_customers_moving_from_valuable_to_lapsed_fire_per_flow_with_the_money():
    firings = evaluate([Rule(5, "valuable_to_lapsed", min_customers=100)], LAPSING,
                       published_on=PUBLISHED)  # fmt: skip
    assert [f.message for f in firings] == [
        "312 customers moved from Champions to At risk "
        "(€41,200 of revenue in the earlier run's period)",
        "120 customers moved from Loyal customers to At risk "
        "(€8,000 of revenue in the earlier run's period)",
    ]
    assert firings[0].details == {
        "source": 2, "target": 7, "customers": 312, "revenue": 41200.4,
        "currency": "EUR", "min_customers": 100,
    }  # fmt: skip


def test_the_lapse_rule_needs_more_than_its_number():
    assert [
        f.details["customers"]
        for f in evaluate([Rule(5, "valuable_to_lapsed", min_customers=120)], LAPSING,
                          published_on=PUBLISHED)
    ] == [312]  # fmt: skip


def test_a_first_publication_raises_nothing_and_each_rule_only_its_kind():
    rules = [
        Rule(1, "segment_size_change", threshold=1),
        Rule(2, "valuable_to_lapsed", min_customers=0),
        Rule(3, "scheduled_run_failed"),
    ]
    assert evaluate(rules, None, published_on=PUBLISHED) == []
    fired = evaluate(rules, LAPSING, published_on=PUBLISHED)
    # Bargain hunters 900 -> 400; two flows from valuable into lapsed; no run failed.
    assert sorted((f.rule_id, f.kind) for f in fired) == [
        (1, "segment_size_change"),
        *[(2, "valuable_to_lapsed")] * 2,
    ]


def _valued(total, horizon=90, discount=0.1, margin=1.0):
    """A run as the value rule reads it: its value_ahead's total and terms (None: none)."""
    if total is None:
        return SimpleNamespace(value_ahead={})
    terms = {"horizon_days": horizon, "discount_rate": discount, "margin": margin}
    return SimpleNamespace(value_ahead={"total_expected_value": total, **terms})


def _between(earlier, later, currency="GBP"):
    return replace(SHRINKING, earlier_run=earlier, later_run=later, currency=currency)


def test_a_fall_of_the_expected_value_past_the_threshold_fires_in_words():
    rule = Rule(3, "expected_value_drop", threshold=10)
    [firing] = evaluate([rule], _between(_valued(218_274.0), _valued(187_700.4)),
                        published_on=PUBLISHED)  # fmt: skip
    assert (firing.rule_id, firing.kind) == (3, "expected_value_drop")
    assert firing.message == (
        "The customers' expected value over the next 90 days fell by 14% (£218,274 → £187,700) "
        "in the run published on 1 Dec 2026"
    )
    assert firing.details == {
        "before": 218274.0, "after": 187700.4, "currency": "GBP", "horizon_days": 90,
        "change_percent": -14.0, "threshold": 10.0,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        (_valued(1000.0), _valued(900.0)),  # exactly the threshold
        (_valued(1000.0), _valued(1500.0)),  # a rise
        (_valued(None), _valued(500.0)),  # the earlier run estimated nothing
        (_valued(1000.0), _valued(None)),
        (_valued(1000.0, horizon=90), _valued(500.0, horizon=30)),  # other terms
        (_valued(1000.0), _valued(500.0, margin=0.4)),
        (_valued(1000.0), _valued(500.0, discount=0.2)),
        (_valued(0.0), _valued(0.0)),
    ],
)
def test_an_expected_value_that_holds_rises_or_cannot_be_compared_does_not_fire(earlier, later):
    rule = Rule(3, "expected_value_drop", threshold=10)
    assert evaluate([rule], _between(earlier, later), published_on=PUBLISHED) == []


def test_a_failed_scheduled_run_fires_each_failure_rule():
    rules = [Rule(1, "scheduled_run_failed"), Rule(2, "segment_size_change", threshold=5),
             Rule(3, "scheduled_run_failed")]  # fmt: skip
    firings = run_failures(
        rules, run_id=42, run_name="#42", error="Too few customers.", failed_on=PUBLISHED
    )
    assert [(f.rule_id, f.kind) for f in firings] == [
        (1, "scheduled_run_failed"),
        (3, "scheduled_run_failed"),
    ]
    assert firings[0].message == "The scheduled run #42 failed on 1 Dec 2026: Too few customers."
    assert firings[0].details == {"run": 42}


def test_recipients_are_checked_one_by_one_and_deduplicated():
    assert parse_recipients(" anna@shop.example, crm@shop.example;anna@shop.example ,") == [
        "anna@shop.example",
        "crm@shop.example",
    ]
    assert parse_recipients("") == []
    with pytest.raises(ValidationError, match="'anna@' is not an e-mail address"):
        parse_recipients("crm@shop.example, anna@")
