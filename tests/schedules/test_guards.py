"""The publication policy in isolation (no database): which guards pass, which fail, and
the words a manager reads on the held run."""

from schedules.guards import Policy, Retention, RunFacts, evaluate

STABLE = RunFacts(stable=True, verdict="stable", words="stable", segments=4)
MODERATE = RunFacts(stable=False, verdict="moderate", words="moderately stable, review", segments=4)
UNSTABLE = RunFacts(stable=False, verdict="unstable", words="unstable", segments=4)
KEPT = [Retention("Loyal", 100, 10), Retention("At risk", 50, 5)]


def test_a_stable_run_like_the_published_one_passes_every_guard():
    verdict = evaluate(Policy(), run=STABLE, published=STABLE, retention=KEPT)
    assert verdict.may_publish
    assert verdict.failed == []
    assert [p.split(":")[0] for p in verdict.passed] == [
        "stability",
        "segment count",
        "member loss",
    ]
    assert "at most 10%" in verdict.passed[2] and "limit 30%" in verdict.passed[2]


def test_stability_follows_the_engines_verdict():
    failed = evaluate(Policy(), run=MODERATE, published=STABLE, retention=KEPT).failed
    assert failed == [
        "stability: the segments are moderately stable, review, and the schedule publishes "
        "only segments the engine judges stable"
    ]
    assert evaluate(
        Policy(min_stability="moderate"), run=MODERATE, published=STABLE, retention=KEPT
    ).may_publish
    assert not evaluate(
        Policy(min_stability="moderate"), run=UNSTABLE, published=STABLE, retention=KEPT
    ).may_publish
    assert evaluate(
        Policy(min_stability="any"), run=UNSTABLE, published=STABLE, retention=KEPT
    ).may_publish


def test_a_different_number_of_segments_waits_for_a_manager_unless_allowed():
    five = RunFacts(stable=True, verdict="stable", words="stable", segments=5)
    failed = evaluate(Policy(), run=five, published=STABLE, retention=KEPT).failed
    assert failed == [
        "segment count: 5 segments where the published run has 4; a manager decides "
        "whether the new split is better"
    ]
    assert evaluate(
        Policy(same_segment_count=False), run=five, published=STABLE, retention=KEPT
    ).may_publish


def test_a_segment_losing_more_than_the_limit_fails_and_is_named():
    retention = [Retention("Loyal", 200, 62), Retention("New", 80, 8)]
    failed = evaluate(Policy(), run=STABLE, published=STABLE, retention=retention).failed
    assert failed == [
        "member loss: Loyal lost 31% (62 of 200) to other segments, more than the 30% allowed"
    ]
    # exactly at the limit is allowed; a limit of 0 allows no move at all
    at_limit = [Retention("Loyal", 10, 3)]
    assert evaluate(Policy(), run=STABLE, published=STABLE, retention=at_limit).may_publish
    assert not evaluate(
        Policy(max_member_loss=0.0), run=STABLE, published=STABLE, retention=[Retention("A", 9, 1)]
    ).may_publish


def test_unmeasured_member_loss_fails_and_nothing_published_checks_stability_only():
    assert evaluate(Policy(), run=STABLE, published=STABLE, retention=None).failed == [
        "member loss: the two runs' members could not be compared"
    ]
    first = evaluate(Policy(), run=STABLE, published=None, retention=None)
    assert first.may_publish and len(first.passed) == 1
    assert not evaluate(Policy(), run=UNSTABLE, published=None, retention=None).may_publish


def test_every_failure_is_reported_at_once():
    five_unstable = RunFacts(stable=False, verdict="unstable", words="unstable", segments=5)
    failed = evaluate(
        Policy(), run=five_unstable, published=STABLE, retention=[Retention("Loyal", 10, 9)]
    ).failed
    assert [f.split(":")[0] for f in failed] == ["stability", "segment count", "member loss"]
