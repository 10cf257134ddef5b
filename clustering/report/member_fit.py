"""Each member's fit and own activity beside their segment's name, on the members list, the
customer lookup and the members export: the fit in words (clustering.engine.fit), the
customer's activity against the shop's rhythm (run.activity_rhythm) and a warning when that
activity contradicts what the segment's name says (a lapsed customer among "active" ones)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from clustering.engine.fit import fit_level, fit_words

#: What a segment's activity (Segment.activity) promises, and the customer activity that
#: contradicts it: a lapsed customer in a segment named for active (or still buying) ones,
#: an active customer in a segment named for lapsed (or gone quiet) ones.
CONTRADICTS: dict[str, tuple[str, str]] = {
    "active": ("lapsed", "active customers"),
    "slipping": ("lapsed", "customers still buying"),
    "lapsed": ("active", "lapsed customers"),
    "inactive": ("active", "customers gone quiet"),
}


def customer_activity(recency_days: float | None, rhythm: dict | None) -> str | None:
    """active, cooling or lapsed by the shop's rhythm (active_days, lapsed_days); None when
    the run did not measure the rhythm or the recency is missing."""
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
    activity: str | None, recency_days: float | None, segment_activity: str, rhythm: dict | None
) -> str:
    """A sentence when the customer's activity contradicts the segment's name, else ""."""
    contradicting, named_for = CONTRADICTS.get(segment_activity or "", (None, ""))
    if activity is None or activity != contradicting:
        return ""
    rhythm = rhythm or {}
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


@dataclass(frozen=True)
class MemberFit:
    level: str | None  # typical, clear, borderline (clustering.engine.fit)
    words: str
    runner_up: str | None
    activity: str | None  # active, cooling, lapsed
    warning: str


def member_fit(
    *,
    confidence: float | None,
    runner_up_number: int | None,
    recency_days: float | None,
    algorithm: str,
    segment_names: dict[int, str],
    segment_activity: str,
    rhythm: dict | None,
) -> MemberFit:
    runner_up = segment_names.get(runner_up_number) if runner_up_number is not None else None
    activity = customer_activity(recency_days, rhythm)
    return MemberFit(
        level=fit_level(confidence, algorithm),
        words=fit_words(confidence, algorithm, runner_up),
        runner_up=runner_up,
        activity=activity,
        warning=activity_warning(activity, recency_days, segment_activity, rhythm),
    )
