"""The activity axis: each customer's status against the shop's own buying rhythm, a
segment's activity label, and the split of segments that mix active and lapsed members.

*Active* when the last purchase is at most ``active_days`` old (the time within which 4 in 5
repeat customers buy again), *cooling* up to twice that, *lapsed* beyond.  A segment's activity
is the most specific label of ``ACTIVITY_LABELS`` whose statuses cover at least
``MEMBER_SHARE`` of its members.

When the value stage's purchase model forecast the holdout's repeat purchases within
``P_ALIVE_MAX_ERROR``, a repeat buyer's status comes from their P(alive) instead (active from
the shop's cut, :func:`p_alive_active_cut`, lapsed below ``P_ALIVE_LAPSED``); one-time buyers
keep the rhythm, since the model holds them alive by definition
(docs/decisions/activity-from-p-alive.md)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

from .types import ACTIVITY_LABELS, ACTIVITY_STATUSES, ActivityRhythm

MEMBER_SHARE = 0.90  # share of members that must meet the activity status a name implies
RHYTHM_QUANTILE = 0.80
MIN_REPEAT_CUSTOMERS = 20
FALLBACK_ACTIVE_DAYS = 90.0
P_ALIVE_MAX_ERROR = 0.15  # |holdout error| within which P(alive) names activity
P_ALIVE_ACTIVE = 0.70  # a repeat buyer at or above: active, when the shop gives no better cut
# the cuts tried on each shop: the one where P(alive) agrees best with the days on the repeat
# buyers the days call clearly active or clearly lapsed (docs/decisions/activity-from-p-alive.md)
P_ALIVE_ACTIVE_CUTS = (0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80)
P_ALIVE_LAPSED = 0.30  # below: lapsed; in between: cooling


def shop_rhythm(features: pd.DataFrame) -> ActivityRhythm:
    """The shop's rhythm from its repeat customers' mean gap between purchase days."""
    gaps = features["mean_days_between_purchases"].to_numpy(dtype=float)
    gaps = gaps[np.isfinite(gaps) & (gaps > 0)]
    if len(gaps) >= MIN_REPEAT_CUSTOMERS:
        active = float(max(1.0, np.ceil(np.quantile(gaps, RHYTHM_QUANTILE))))
        basis = (
            f"4 in 5 of the {len(gaps):,} repeat customers buy again within "
            f"{active:,.0f} days (their mean gap between purchase days)"
        )
    else:
        active = FALLBACK_ACTIVE_DAYS
        basis = (
            f"only {len(gaps)} repeat customers, too few to measure the shop's rhythm: "
            f"{active:.0f} days assumed"
        )
    return ActivityRhythm(active, 2 * active, int(len(gaps)), basis)


def activity_status(recency_days: np.ndarray, rhythm: ActivityRhythm) -> np.ndarray:
    """0 active, 1 cooling, 2 lapsed (indices into ACTIVITY_STATUSES) per customer."""
    r = np.asarray(recency_days, dtype=float)
    return np.where(r <= rhythm.active_days, 0, np.where(r <= rhythm.lapsed_days, 1, 2))


def p_alive_active_cut(
    features: pd.DataFrame | None, p_alive: pd.Series | None, rhythm: ActivityRhythm
) -> float:
    """The P(alive) from which a repeat buyer counts as active on this shop: of
    P_ALIVE_ACTIVE_CUTS, the one that best agrees with the days on the repeat buyers the days
    call active or lapsed (ties: the stricter cut); the rhythm's own cut, else P_ALIVE_ACTIVE,
    without enough of them."""
    kept = rhythm.p_alive_active or P_ALIVE_ACTIVE
    if features is None or p_alive is None:
        return kept
    p = p_alive.reindex(features.index).to_numpy(dtype=float)
    days = activity_status(features["recency_days"].to_numpy(dtype=float), rhythm)
    clear = np.isfinite(p) & (p < 1.0) & (days != 1)
    if clear.sum() < MIN_REPEAT_CUSTOMERS:
        return kept
    p, active = p[clear], days[clear] == 0
    agreement = [((p >= cut) == active).mean() for cut in P_ALIVE_ACTIVE_CUTS]
    best = max(agreement)
    return max(c for c, a in zip(P_ALIVE_ACTIVE_CUTS, agreement, strict=True) if a == best)


def activity_evidence(
    rhythm: ActivityRhythm,
    holdout: dict[str, Any] | None,
    features: pd.DataFrame | None = None,
    p_alive: pd.Series | None = None,
) -> ActivityRhythm:
    """The rhythm with the evidence that names activity: P(alive) when the purchase model's
    holdout error is within P_ALIVE_MAX_ERROR (with its active cut measured on ``features``
    and ``p_alive`` when given), else the days since the last purchase."""
    error = holdout.get("error") if holdout else None
    days = "days since the last purchase against the shop's rhythm"
    if error is None or not math.isfinite(float(error)):
        return dataclasses.replace(
            rhythm,
            evidence="recency",
            evidence_basis=f"activity by {days}: the purchase model was not checked on a holdout",
        )
    if abs(error) <= P_ALIVE_MAX_ERROR:
        cut = p_alive_active_cut(features, p_alive, rhythm)
        return dataclasses.replace(
            rhythm,
            evidence="p_alive",
            p_alive_active=cut,
            evidence_basis=(
                f"activity by P(alive) for repeat buyers (active from {cut:.0%}, lapsed "
                f"below {P_ALIVE_LAPSED:.0%}): the purchase model forecast the holdout's repeat "
                f"purchases within {abs(error):.1%} (at most {P_ALIVE_MAX_ERROR:.0%} needed); "
                f"one-time buyers by {days}"
            ),
        )
    return dataclasses.replace(
        rhythm,
        evidence="recency",
        evidence_basis=(
            f"activity by {days}: the purchase model missed the holdout's repeat purchases by "
            f"{error:+.1%}, more than the {P_ALIVE_MAX_ERROR:.0%} P(alive) needs"
        ),
    )


def customer_status(
    features: pd.DataFrame, rhythm: ActivityRhythm, p_alive: pd.Series | None = None
) -> np.ndarray:
    """Each customer's status (indices into ACTIVITY_STATUSES) by the rhythm's evidence:
    P(alive) for repeat buyers when it names activity, the days since the last purchase for
    everyone else.  ``p_alive`` is indexed by customer id like ``features``."""
    status = activity_status(features["recency_days"].to_numpy(dtype=float), rhythm)
    if rhythm.evidence != "p_alive" or p_alive is None:
        return status
    p = p_alive.reindex(features.index).to_numpy(dtype=float)
    by_p = status_by_p_alive(p, rhythm.p_alive_active or P_ALIVE_ACTIVE)
    return np.where(by_p >= 0, by_p, status)


def status_by_p_alive(p_alive: np.ndarray, active_cut: float) -> np.ndarray:
    """0 active, 1 cooling, 2 lapsed by P(alive) (from ``active_cut``, below P_ALIVE_LAPSED),
    -1 where P(alive) judges nothing and the days decide: BG/NBD gives exactly 1 to a customer
    without a repeat purchase, and nothing to one the value stage left out."""
    p = np.asarray(p_alive, dtype=float)
    judged = np.isfinite(p) & (p < 1.0)
    by_p = np.where(p >= active_cut, 0, np.where(p >= P_ALIVE_LAPSED, 1, 2))
    return np.where(judged, by_p, -1)


def member_status_by_p_alive(p_alive: float | None, active_cut: float) -> int:
    """status_by_p_alive for one customer, in plain Python: the members list and its export
    judge them one at a time (a test holds the two to the same answers)."""
    if p_alive is None or not math.isfinite(p_alive) or p_alive >= 1.0:
        return -1
    return 0 if p_alive >= active_cut else 1 if p_alive >= P_ALIVE_LAPSED else 2


def split_mixed_segments(
    features: pd.DataFrame,
    segment_ids: np.ndarray,
    rhythm: ActivityRhythm,
    min_share: float,
) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """Split each segment whose members no activity label covers into its active members and
    the others, so that every name's activity holds for its members; a part smaller than
    ``min_share`` of all customers leaves the segment whole.

    Returns the new ids (biggest segment first), the (K, 2) map from old id and "not active"
    to new id (None when nothing was split), and one note per split."""
    status = activity_status(features["recency_days"].to_numpy(dtype=float), rhythm)
    n, K = len(segment_ids), int(segment_ids.max()) + 1
    parts = np.zeros((K, 2), dtype=np.int64)  # part index per (segment, not active)
    notes, next_part = [], 0
    for s in range(K):
        mask = segment_ids == s
        counts = np.bincount(status[mask], minlength=3) / max(int(mask.sum()), 1)
        shares = dict(zip(ACTIVITY_STATUSES, map(float, counts), strict=True))
        active = int((mask & (status == 0)).sum())
        rest = int(mask.sum()) - active
        if activity_label(shares) == "mixed" and min(active, rest) >= max(1, min_share * n):
            parts[s] = (next_part, next_part + 1)
            next_part += 2
            notes.append(
                f"a segment of {int(mask.sum()):,} customers mixed active ({shares['active']:.0%}),"
                f" cooling ({shares['cooling']:.0%}) and lapsed ({shares['lapsed']:.0%}) "
                f"customers; it was split at {rhythm.active_days:,.0f} days since the last "
                "purchase so that each part's name holds for its members"
            )
        else:
            parts[s] = (next_part, next_part)
            next_part += 1
    if not notes:
        return segment_ids, None, []
    part_of = parts[segment_ids, (status > 0).astype(np.int64)]
    sizes = np.bincount(part_of, minlength=next_part)
    order = np.lexsort((np.arange(next_part), -sizes))  # biggest first, ties by position
    renumber = np.empty(next_part, dtype=np.int64)
    renumber[order] = np.arange(next_part)
    return renumber[part_of], renumber[parts], notes


def activity_label(shares: dict[str, float]) -> str:
    """Most specific ACTIVITY_LABELS key whose statuses cover >= MEMBER_SHARE of members."""
    covering = [
        (len(statuses), -sum(shares[s] for s in statuses), label)
        for label, statuses in ACTIVITY_LABELS.items()
        if sum(shares[s] for s in statuses) >= MEMBER_SHARE - 1e-12
    ]
    return min(covering)[2]
