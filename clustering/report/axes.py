"""What a segment's name rests on, in words for marketers: its three axes (value, engagement,
activity), the numbers behind the name and its checked conditions; the shop's buying rhythm;
the stability verdict; the RFM grid's bin edges.

Everything reads what a run stored. Runs stored before these were measured hold empty values
("" / {} / []): every function then returns empty data and the pages show nothing for it.
"""

from __future__ import annotations

import math
from typing import Any

from clustering.engine.activity import P_ALIVE_LAPSED
from clustering.engine.naming import EVIDENCE_WORDS
from clustering.engine.types import (
    ACTIVITY_LABELS,
    ACTIVITY_STATUSES,
    ACTIVITY_WORDS,
    MODERATE_ARI,
    RFM_FEATURES,
    STABILITY_WORDS,
    STABLE_ARI,
    stability_verdict,
)
from clustering.engine.vocabulary import feature_label

from .charts import feature_unit
from .words import candidate_key_label

#: CSS status class for each stability verdict: moderate and unstable are said loudly.
STABILITY_LEVELS = {"stable": "ok", "moderate": "warn", "unstable": "bad"}
#: The RFM grid's axes, in the grid's order.
RFM_AXES = RFM_FEATURES


def _get(segment: Any, name: str, default: Any) -> Any:
    if isinstance(segment, dict):
        value = segment.get(name, default)
    else:
        value = getattr(segment, name, default)
    return default if value is None else value


def _share(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _percent(share: float) -> str:
    return f"{round(100 * share)}%"


def _days(value: Any) -> int | None:
    number = _share(value)
    return None if number is None else max(0, round(number))


def rhythm_view(rhythm: dict | None) -> dict | None:
    """The shop's rhythm in words, or None when the run did not measure it."""
    rhythm = rhythm or {}
    active, lapsed = _days(rhythm.get("active_days")), _days(rhythm.get("lapsed_days"))
    if active is None or lapsed is None:
        return None
    phrase = (
        f"Active = bought within the last {active} days; cooling = last bought "
        f"{active} to {lapsed} days ago; lapsed = last bought more than {lapsed} days ago"
    )
    cut = _share(rhythm.get("p_alive_active"))
    return {
        "active_days": active,
        "lapsed_days": lapsed,
        # where P(alive) named a segment's activity: how its repeat buyers were judged
        "p_alive_phrase": (
            f"active = P(alive) {_percent(cut)} or more; cooling = {_percent(P_ALIVE_LAPSED)} "
            f"to {_percent(cut)}; lapsed = below {_percent(P_ALIVE_LAPSED)}"
            if cut is not None
            else ""
        ),
        "repeat_customers": rhythm.get("repeat_customers"),
        "basis": rhythm.get("basis") or "",
        "phrase": phrase,  # to stand inside a sentence
        "sentence": f"{phrase}.",
    }


def _activity_phrase(label: str, rhythm: dict | None) -> str:
    if rhythm is None:
        return f"of members {ACTIVITY_WORDS.get(label, label)}"
    active, lapsed = rhythm["active_days"], rhythm["lapsed_days"]
    return {
        "active": f"bought in the last {active} days",
        "cooling": f"last bought {active} to {lapsed} days ago",
        "lapsed": f"last bought more than {lapsed} days ago",
        "slipping": f"bought in the last {lapsed} days",
        "inactive": f"last bought more than {active} days ago",
    }.get(label, f"of members {ACTIVITY_WORDS.get(label, label)}")


def activity_evidence(segment: Any) -> str:
    """What judged the segment's members active or lapsed: "recency", "p_alive" or "".
    Runs stored before the field said it only at the end of the why sentence."""
    evidence = _get(segment, "activity_evidence", "")
    if evidence:
        return evidence
    why = _get(segment, "why", "")
    return next((key for key, words in EVIDENCE_WORDS.items() if why.endswith(words)), "")


def activity_detail(
    label: str, shares: dict | None, rhythm: dict | None, evidence: str = ""
) -> str:
    """ "96% bought in the last 113 days" for an activity label and the members' shares
    (rhythm: rhythm_view's dict), or "96% active by P(alive), one-time buyers by days" where
    P(alive) judged them (the days would be a claim the shares do not make); every status's
    share for "mixed"; "" without shares."""
    shares = {s: _share((shares or {}).get(s)) for s in ACTIVITY_STATUSES}
    if label not in ACTIVITY_LABELS or all(v is None for v in shares.values()):
        return ""
    if label == "mixed":
        return ", ".join(f"{_percent(shares[s] or 0)} {s}" for s in ACTIVITY_STATUSES)
    statuses = ACTIVITY_LABELS[label]
    share = _percent(sum(shares[s] or 0 for s in statuses))
    if evidence == "p_alive":
        return f"{share} {' or '.join(statuses)} by P(alive), one-time buyers by days"
    return f"{share} {_activity_phrase(label, rhythm)}"


def segment_axes(segment: Any, rhythm: dict | None = None) -> dict:
    """A segment's axes, why sentence and conditions, ready for a template.

    ``segment``: a Segment or a dict of its values; ``rhythm``: rhythm_view(run's rhythm).
    ``shown`` is false when the run stored none of them (an older run)."""
    activity = _get(segment, "activity", "")
    shares = _get(segment, "activity_shares", {})
    conditions = [
        {
            "condition": str(c.get("condition", "")),
            "observed": str(c.get("observed", "")),
            "holds": bool(c.get("holds")),
        }
        for c in _get(segment, "conditions", [])
        if isinstance(c, dict)
    ]
    axes = {
        "value": _get(segment, "value", ""),
        "engagement": _get(segment, "engagement", ""),
        "activity": activity,
        "activity_words": ACTIVITY_WORDS.get(activity, activity),
        "activity_detail": activity_detail(activity, shares, rhythm, activity_evidence(segment)),
        "shares": [
            {"status": s, "share": _share(shares.get(s))}
            for s in ACTIVITY_STATUSES
            if isinstance(shares, dict) and _share(shares.get(s)) is not None
        ],
        "why": _get(segment, "why", ""),
        "conditions": conditions,
    }
    axes["shown"] = any(axes[k] for k in ("value", "engagement", "activity", "why", "conditions"))
    return axes


def stability_with_words(stability: dict | None) -> dict:
    """The stored stability with its verdict and words, worked out from the stored mean ARI
    for runs stored before they were saved; {} stays {}."""
    stability = dict(stability or {})
    if stability and "verdict" not in stability:
        mean = _share(stability.get("mean_adjusted_rand"))
        stability["verdict"] = stability_verdict(mean if mean is not None else math.nan)
    if stability and "words" not in stability:
        stability["words"] = STABILITY_WORDS.get(stability["verdict"], "not measured")
    return stability


def stability_view(stability: dict | None, chosen_key: str = "") -> dict | None:
    """The run's stability in words, or None when nothing was stored.

    Runs stored before the verdict was saved get it from their stored mean ARI, with the
    same thresholds (clustering.engine.types.STABLE_ARI, MODERATE_ARI)."""
    stability = stability_with_words(stability)
    if not stability:
        return None
    verdict = stability["verdict"]
    checked = []
    for key, ari in (stability.get("checked") or {}).items():
        value = _share(ari)
        their_verdict = stability_verdict(value if value is not None else math.nan)
        checked.append(
            {
                "key": key,
                "label": candidate_key_label(key),
                "mean_adjusted_rand": value,
                "verdict": their_verdict,
                "words": STABILITY_WORDS.get(their_verdict, "not measured"),
                "level": STABILITY_LEVELS.get(their_verdict, ""),
                "chosen": key == chosen_key,
            }
        )
    return {
        "mean_adjusted_rand": _share(stability.get("mean_adjusted_rand")),
        "verdict": verdict,
        "words": stability["words"],
        "level": STABILITY_LEVELS.get(verdict, ""),
        "review": verdict in ("moderate", "unstable"),
        "stable_ari": STABLE_ARI,
        "moderate_ari": MODERATE_ARI,
        "checked": checked,
    }


def rfm_edges_view(rfm: dict | None) -> list[dict]:
    """Per RFM axis: its label and one {score, low, high, customers} per score; [] if none."""
    edges = (rfm or {}).get("edges") or {}
    axes = [a for a in RFM_AXES if a in edges] + [a for a in edges if a not in RFM_AXES]
    return [
        {
            "axis": axis,
            "label": feature_label(axis),
            "unit": feature_unit(axis),
            "bins": [b for b in edges[axis] if isinstance(b, dict)],
        }
        for axis in axes
        if edges[axis]
    ]


def rfm_loyal_reach(edges: list[dict]) -> float | None:
    """The most days since the last purchase that the grid's "Loyal customers" may have
    (recency score 3 or more): the grid ranks within the shop, so on a shop whose customers
    mostly stopped buying that reaches far back. None without the axis."""
    recency = next((a for a in edges if a["axis"] == "recency_days"), None)
    highs = [b["high"] for b in (recency or {}).get("bins", []) if b.get("score", 0) >= 3]
    return max(highs) if highs else None
