"""The publication policy: may a scheduled run replace the published segmentation by itself?

Pure: it judges facts the caller read (schedules.services) and says, in words, which guards
passed and which failed; a run with any failure waits for a manager
(docs/decisions/schedules.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

STABLE = "stable"
MODERATE = "moderate"
ANY = "any"


@dataclass(frozen=True)
class Policy:
    min_stability: str = STABLE  # "stable" | "moderate" | "any"
    same_segment_count: bool = True
    max_member_loss: float = 0.30


@dataclass(frozen=True)
class RunFacts:
    """What the guards read of a run: its stability as the engine judged it and its size."""

    stable: bool  # run.stability["stable"]: the engine's own threshold
    verdict: str  # "stable" | "moderate" | "unstable" | "" (not measured)
    words: str  # the verdict in words, as the run report says it
    segments: int


@dataclass(frozen=True)
class Retention:
    """One segment of the published run: its members found in both runs, and how many of
    them the new run put in a segment that does not continue it."""

    name: str
    members: int
    lost: int

    @property
    def loss(self) -> float:
        return self.lost / self.members if self.members else 0.0


@dataclass(frozen=True)
class Verdict:
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def may_publish(self) -> bool:
        return not self.failed


def _share(value: float) -> str:
    return f"{value:.0%}"


def evaluate(
    policy: Policy,
    *,
    run: RunFacts,
    published: RunFacts | None,
    retention: list[Retention] | None,
) -> Verdict:
    """Judge a scheduled run against the published one. `published` is None when nothing
    is published (only the stability guard applies); `retention` is None when the member
    loss could not be measured (it then fails: the guard cannot say the members stayed)."""
    passed: list[str] = []
    failed: list[str] = []

    if policy.min_stability == STABLE:
        if run.stable:
            passed.append("stability: the engine judged the segments stable")
        else:
            failed.append(
                f"stability: the segments are {run.words or 'not measured'}, and the schedule "
                "publishes only segments the engine judges stable"
            )
    elif policy.min_stability == MODERATE:
        if run.stable or run.verdict in (STABLE, MODERATE):
            passed.append(f"stability: the segments are {run.words}")
        else:
            failed.append(
                f"stability: the segments are {run.words or 'not measured'}, and the schedule "
                "needs at least moderately stable ones"
            )

    if published is not None and policy.same_segment_count:
        if run.segments == published.segments:
            passed.append(f"segment count: {run.segments}, as in the published run")
        else:
            failed.append(
                f"segment count: {run.segments} segments where the published run has "
                f"{published.segments}; a manager decides whether the new split is better"
            )

    if published is not None:
        if retention is None:
            failed.append("member loss: the two runs' members could not be compared")
        else:
            worst = max(retention, key=lambda r: r.loss, default=None)
            over = [r for r in retention if r.loss > policy.max_member_loss]
            if over:
                listed = ", ".join(
                    f"{r.name} lost {_share(r.loss)} ({r.lost:,} of {r.members:,})" for r in over
                )
                failed.append(
                    f"member loss: {listed} to other segments, more than the "
                    f"{_share(policy.max_member_loss)} allowed"
                )
            elif worst is not None:
                passed.append(
                    f"member loss: at most {_share(worst.loss)} of a segment's members moved "
                    f"to another (limit {_share(policy.max_member_loss)}; {worst.name})"
                )
            else:
                passed.append("member loss: no customer of the published run to compare")
    return Verdict(passed=passed, failed=failed)
