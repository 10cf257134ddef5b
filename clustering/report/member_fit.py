"""Each member's fit and own activity beside their segment's name, on the members list, the
customer lookup and the members export: the fit in words (clustering.engine.fit), the
customer's activity judged as their segment's name was (by the shop's rhythm, or by P(alive)
for repeat buyers where the purchase model named the segment's activity) and a warning when
that activity contradicts what the name says (a lapsed customer among "active" ones)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from clustering.engine.activity import P_ALIVE_LAPSED, member_status_by_p_alive
from clustering.engine.fit import fit_level, fit_words
from clustering.engine.types import ACTIVITY_STATUSES

#: What a segment's activity (Segment.activity) promises, and the customer activity that
#: contradicts it: a lapsed customer in a segment named for active (or still buying) ones,
#: an active customer in a segment named for lapsed (or gone quiet) ones.
CONTRADICTS: dict[str, tuple[str, str]] = {
    "active": ("lapsed", "active customers"),
    "slipping": ("lapsed", "customers still buying"),
    "lapsed": ("active", "lapsed customers"),
    "inactive": ("active", "customers gone quiet"),
}


def customer_activity(
    recency_days: float | None,
    rhythm: dict | None,
    *,
    p_alive: float | None = None,
    evidence: str = "",
) -> str | None:
    """active, cooling or lapsed by the shop's rhythm (active_days, lapsed_days), or by the
    customer's P(alive) where their segment's activity was named by it (``evidence``
    "p_alive") and they bought again; None when the run did not measure the rhythm or the
    recency is missing."""
    return _judged(recency_days, rhythm, p_alive, evidence)[0]


def _judged(
    recency_days: float | None, rhythm: dict | None, p_alive: float | None, evidence: str
) -> tuple[str | None, str, str | None]:
    """(the activity, what judged it: "days" or "p_alive", what the days alone say)."""
    by_days = _days_activity(recency_days, rhythm)
    status = _p_alive_status(rhythm, p_alive, evidence) if by_days is not None else -1
    if status < 0:
        return by_days, "days", by_days
    return ACTIVITY_STATUSES[status], "p_alive", by_days


def _p_alive_status(rhythm: dict | None, p_alive: float | None, evidence: str) -> int:
    """The status index by P(alive) (engine.activity.member_status_by_p_alive), -1 where the
    days decide: a segment not named by P(alive), a one-time buyer, no P(alive), or a run
    stored before its active cut was kept (judged by days, as it always was)."""
    cut = (rhythm or {}).get("p_alive_active")
    if evidence != "p_alive" or cut is None:
        return -1
    return member_status_by_p_alive(p_alive, float(cut))


def _days_activity(recency_days: float | None, rhythm: dict | None) -> str | None:
    rhythm = rhythm or {}
    active, lapsed = rhythm.get("active_days"), rhythm.get("lapsed_days")
    if recency_days is None or active is None or lapsed is None:
        return None
    if not math.isfinite(float(recency_days)):
        return None
    if recency_days <= active:
        return "active"
    if recency_days > lapsed:
        return "lapsed"
    return "cooling"


def activity_warning(
    activity: str | None,
    recency_days: float | None,
    segment_activity: str,
    rhythm: dict | None,
    *,
    p_alive: float | None = None,
    basis: str = "days",
) -> str:
    """A sentence when the customer's activity contradicts the segment's name, else ""."""
    contradicting, named_for = CONTRADICTS.get(segment_activity or "", (None, ""))
    if activity is None or activity != contradicting:
        return ""
    rhythm = rhythm or {}
    if basis == "p_alive":
        if activity == "lapsed":
            limit = f"below {P_ALIVE_LAPSED:.0%}"
        else:
            limit = f"from {float(rhythm['p_alive_active']):.0%}"
        return (
            f"P(alive) {float(p_alive or 0):.0%}: {activity} by the purchase model ({limit}), "
            f"yet the segment is named for {named_for}."
        )
    days = round(float(recency_days or 0))
    if activity == "lapsed":
        limit = f"more than {round(float(rhythm['lapsed_days']))} days"
    else:
        limit = f"within {round(float(rhythm['active_days']))} days"
    silence = "1 day" if days == 1 else f"{days:,} days"
    return (
        f"Last bought {silence} before the run's date: {activity} by this shop's rhythm "
        f"({limit}), yet the segment is named for {named_for}."
    )


#: What judged a member's activity (MemberFit.activity_by), in the members export's words.
ACTIVITY_BY_WORDS = {"days": "days since the last purchase", "p_alive": "P(alive)"}


@dataclass(frozen=True)
class MemberFit:
    level: str | None  # typical, clear, borderline (clustering.engine.fit)
    words: str
    runner_up: str | None
    activity: str | None  # active, cooling, lapsed
    warning: str
    activity_by: str = "days"  # what judged the activity: "days" or "p_alive"
    # judged by P(alive) where the days since the last purchase say otherwise: what they
    # say ("lapsed"), for the list to show beside it; "" elsewhere
    by_days_otherwise: str = ""


def member_fit(
    *,
    confidence: float | None,
    runner_up_number: int | None,
    recency_days: float | None,
    algorithm: str,
    segment_names: dict[int, str],
    segment_activity: str,
    rhythm: dict | None,
    p_alive: float | None = None,
    evidence: str = "",
) -> MemberFit:
    """``evidence``: what named the segment's activity (Segment.activity_evidence)."""
    runner_up = segment_names.get(runner_up_number) if runner_up_number is not None else None
    activity, basis, by_days = _judged(recency_days, rhythm, p_alive, evidence)
    return MemberFit(
        level=fit_level(confidence, algorithm),
        words=fit_words(confidence, algorithm, runner_up),
        runner_up=runner_up,
        activity=activity,
        warning=activity_warning(
            activity, recency_days, segment_activity, rhythm, p_alive=p_alive, basis=basis
        ),
        activity_by=basis,
        by_days_otherwise="" if basis == "days" or by_days == activity else (by_days or ""),
    )


def assignment_fit(assignment, run) -> MemberFit:
    """One customer's fit in their segment (a SegmentAssignment with its segment) of ``run``
    (its run, given where already read with its rhythm), for the customer lookup and the API's
    customer."""
    segment = assignment.segment
    return member_fit(
        confidence=assignment.confidence,
        runner_up_number=assignment.runner_up_number,
        recency_days=assignment.recency_days,
        algorithm=run.chosen_algorithm,
        segment_names=dict(run.segments.values_list("number", "name")),
        segment_activity=segment.activity,
        rhythm=run.activity_rhythm,
        p_alive=assignment.p_alive,
        evidence=segment.activity_evidence,
    )
