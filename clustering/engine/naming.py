"""Segment names and actions from three axes a marketer reads: value, engagement, activity.

* **Activity** is measured per customer against the shop's own buying rhythm
  (:func:`shop_rhythm`): *active* when the last purchase is at most ``active_days`` old (the
  time within which 4 in 5 repeat customers buy again), *cooling* up to twice that, *lapsed*
  beyond.  A segment's activity is the most specific label of ``ACTIVITY_LABELS`` whose
  statuses cover at least 90% of its members, so a name that implies "active" is true of at
  least 90% of the members, not only of the median.
* **Value** is where the segment's median spend stands among all customers (top 20%, 40%,
  above the bottom 35%, or below).
* **Engagement** is the segment's median number of purchases: *frequent* at or above the
  shop's typical repeat customer (and at least 3), *repeat* at 2 or more, else *one-time*.

The name is the first row of :data:`NAME_RULES` whose conditions the segment meets; every
combination of the three axes has exactly one name, so two segments that behave alike always
get the same name and action.  :data:`PLAYBOOK` holds each name's action beside the rules.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .activity import MEMBER_SHARE, P_ALIVE_ACTIVE, P_ALIVE_LAPSED, activity_label
from .types import (
    ACTIVITY_LABELS,
    ACTIVITY_STATUSES,
    ACTIVITY_WORDS,
    ENGAGEMENT_TIERS,
    VALUE_TIERS,
    ActivityRhythm,
    NameCheck,
)

#: lower bound of median-spend percentile for each value tier (checked in order)
VALUE_FLOORS = {"top": 0.80, "high": 0.60, "mid": 0.35, "low": 0.0}
VALUE_WORDS = {
    "top": "median spend in the top 20% of customers",
    "high": "median spend in the top 40% of customers",
    "mid": "median spend above the bottom 35% of customers",
    "low": "median spend in the bottom 35% of customers",
}

ANY_VALUE = frozenset(VALUE_TIERS)
ANY_ENGAGEMENT = frozenset(ENGAGEMENT_TIERS)
NOT_LOW = frozenset({"top", "high", "mid"})
REPEAT = frozenset({"repeat", "frequent"})
RECENT = frozenset({"active"})
SLIPPING = frozenset({"slipping", "cooling"})
GONE = frozenset({"inactive", "lapsed"})


@dataclass(frozen=True)
class NameRule:
    name: str
    value: frozenset[str]
    engagement: frozenset[str]
    activity: frozenset[str]
    action: str
    rationale: str


#: First match wins.  Edit names, conditions and actions here; nothing else needs to change.
NAME_RULES: tuple[NameRule, ...] = (
    NameRule(
        "Champions",
        frozenset({"top"}),
        frozenset({"frequent"}),
        RECENT,
        "Reward and involve: early access, loyalty perks, referral programme; no discounts.",
        "They buy often, spend most and bought recently; protect margin and ask for advocacy.",
    ),
    NameRule(
        "Loyal customers",
        NOT_LOW,
        frozenset({"frequent"}),
        RECENT,
        "Upsell and cross-sell higher-value ranges; invite to the loyalty tier.",
        "Regular, recent buyers respond to relevant recommendations more than to price.",
    ),
    NameRule(
        "Potential loyalists",
        ANY_VALUE,
        REPEAT,
        RECENT,
        "Second-and-third order journey: personalised recommendations, free-shipping threshold.",
        "Recent repeat buyers not yet at the regulars' level; the next orders decide it.",
    ),
    NameRule(
        "New customers",
        ANY_VALUE,
        frozenset({"one-time"}),
        RECENT,
        "Onboarding series: welcome, best-sellers, a time-limited second-order incentive.",
        "Bought once, recently; early experience drives repeat purchase.",
    ),
    NameRule(
        "Needs attention",
        NOT_LOW,
        REPEAT,
        SLIPPING,
        "Reactivation offer with a deadline, based on past categories.",
        "Repeat buyers of good value who are slipping past their usual rhythm; act now.",
    ),
    NameRule(
        "Price-sensitive occasional",
        frozenset({"low"}),
        ANY_ENGAGEMENT,
        SLIPPING,
        "Promote bundles and seasonal sales; keep contact low-cost (email, not print).",
        "Small, infrequent baskets; they react to price, and margin per contact is thin.",
    ),
    NameRule(
        "About to sleep",
        NOT_LOW,
        frozenset({"one-time"}),
        SLIPPING,
        "A timely reminder with best-sellers from their first order's range.",
        "One order of fair value, and past the time most customers come back.",
    ),
    NameRule(
        "Can't lose them",
        frozenset({"top"}),
        frozenset({"frequent"}),
        GONE,
        "Account-manager call or premium win-back; find out what went wrong.",
        "Among the highest spenders and most frequent buyers, now inactive.",
    ),
    NameRule(
        "At risk",
        NOT_LOW,
        REPEAT,
        GONE,
        "Win-back campaign: personal outreach, survey, strong time-limited offer.",
        "They used to buy repeatedly and spend well but have stopped.",
    ),
    NameRule(
        "Hibernating",
        frozenset({"low"}),
        REPEAT,
        GONE,
        "Low-cost reminders and seasonal newsletters; suppress from expensive channels.",
        "Low spend, long inactive; only cheap reactivation pays off.",
    ),
    NameRule(
        "Lost / one-time",
        ANY_VALUE,
        frozenset({"one-time"}),
        GONE,
        "Exclude from paid campaigns; include only in broad low-cost reactivation.",
        "One order, long ago; expected return on marketing spend is very low.",
    ),
    NameRule(
        "Mixed activity",
        ANY_VALUE,
        ANY_ENGAGEMENT,
        frozenset(ACTIVITY_LABELS),
        "Split by activity before acting: the loyalty journey for recent members, "
        "a low-cost reminder for the others.",
        "Its members differ in how recently they bought; one action does not fit them all.",
    ),
)
PLAYBOOK: dict[str, tuple[str, str]] = {r.name: (r.action, r.rationale) for r in NAME_RULES}
RULES_BY_NAME: dict[str, NameRule] = {r.name: r for r in NAME_RULES}


def value_tier(spend_percentile: float) -> str:
    return next(t for t in VALUE_TIERS if spend_percentile >= VALUE_FLOORS[t])


def frequent_floor(frequency: np.ndarray) -> float:
    """Median purchases of the shop's repeat customers, and at least 3."""
    repeat = frequency[frequency >= 2]
    return float(max(3.0, np.median(repeat))) if len(repeat) else 3.0


def engagement_tier(median_purchases: float, frequent_from: float) -> str:
    if median_purchases >= frequent_from:
        return "frequent"
    return "repeat" if median_purchases >= 2 else "one-time"


def rule_for(value: str, engagement: str, activity: str) -> NameRule:
    return next(
        r
        for r in NAME_RULES
        if value in r.value and engagement in r.engagement and activity in r.activity
    )


def _percentile(values: np.ndarray, x: float) -> float:
    """Mid-rank percentile of x among values (ties count half)."""
    return float(np.mean(values < x) + 0.5 * np.mean(values == x))


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.1f}".removesuffix(".0")


def _days(v: float) -> str:
    # whole days, as the pages write them: an even-sized segment's median of 9.5 days is
    # no more precise than 10
    whole = round(v)
    return f"{whole:,} day" if whole == 1 else f"{whole:,} days"


def money_words(v: float, prefix: str) -> str:
    """An amount with the shop's currency symbol before it: whole above 100, in cents
    below ("£312", "£38.70", "-£4.50")."""
    amount = f"{abs(v):,.0f}" if abs(v) >= 100 else f"{abs(v):.2f}"
    return f"{'-' if v < 0 else ''}{prefix}{amount}"


@dataclass(frozen=True)
class Axes:
    """A segment's place on the three axes, with the numbers behind it."""

    value: str
    engagement: str
    activity: str
    activity_shares: dict[str, float]
    spend_percentile: float
    median_spend: float
    median_purchases: float
    median_recency: float
    frequent_from: float


def segment_axes(
    features: pd.DataFrame,
    mask: np.ndarray,
    status: np.ndarray,
    frequent_from: float,
) -> Axes:
    spend = features["monetary_total"].to_numpy(dtype=float)
    freq = features["frequency"].to_numpy(dtype=float)
    rec = features["recency_days"].to_numpy(dtype=float)
    counts = np.bincount(status[mask], minlength=3) / max(int(mask.sum()), 1)
    shares = {s: float(counts[i]) for i, s in enumerate(ACTIVITY_STATUSES)}
    med_spend = float(np.median(spend[mask]))
    pct = _percentile(spend, med_spend)
    med_freq = float(np.median(freq[mask]))
    return Axes(
        value=value_tier(pct),
        engagement=engagement_tier(med_freq, frequent_from),
        activity=activity_label(shares),
        activity_shares=shares,
        spend_percentile=pct,
        median_spend=med_spend,
        median_purchases=med_freq,
        median_recency=float(np.median(rec[mask])),
        frequent_from=frequent_from,
    )


def _activity_observed(axes: Axes, statuses: tuple[str, ...]) -> str:
    share = sum(axes.activity_shares[s] for s in statuses)
    return f"{share:.0%} {' or '.join(statuses)}"


def _either(words: list[str]) -> str:
    """'top', 'top or high', 'top, high or mid'."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def name_checks(
    rule: NameRule, axes: Axes, rhythm: ActivityRhythm, money_prefix: str = ""
) -> tuple[NameCheck, ...]:
    """The conditions of ``rule`` with this segment's numbers; all hold for its own name."""
    checks = []
    spend = money_words(axes.median_spend, money_prefix)
    if rule.value != ANY_VALUE:
        wanted = _either([t for t in VALUE_TIERS if t in rule.value])
        checks.append(
            NameCheck(
                f"value {wanted}",
                f"median spend {spend}: {VALUE_WORDS[axes.value]}",
                axes.value in rule.value,
            )
        )
    if rule.engagement != ANY_ENGAGEMENT:
        wanted = _either([t for t in ENGAGEMENT_TIERS if t in rule.engagement])
        checks.append(
            NameCheck(
                f"engagement {wanted} (frequent = median of at least "
                f"{_fmt(axes.frequent_from)} purchases)",
                f"median {_fmt(axes.median_purchases)} "
                f"purchase{'' if axes.median_purchases == 1 else 's'}: {axes.engagement}",
                axes.engagement in rule.engagement,
            )
        )
    if rule.activity != frozenset(ACTIVITY_LABELS):
        statuses = tuple(
            s for s in ACTIVITY_STATUSES if any(s in ACTIVITY_LABELS[a] for a in rule.activity)
        )
        days = (
            f"active = bought within {rhythm.active_days:,.0f} days, lapsed = silent "
            f"over {rhythm.lapsed_days:,.0f}"
        )
        if rhythm.evidence == "p_alive":
            days = (
                f"repeat buyers by P(alive): active from "
                f"{rhythm.p_alive_active or P_ALIVE_ACTIVE:.0%}, lapsed below "
                f"{P_ALIVE_LAPSED:.0%}; one-time buyers {days}"
            )
        checks.append(
            NameCheck(
                f"at least {MEMBER_SHARE:.0%} of members {' or '.join(statuses)} ({days})",
                _activity_observed(axes, statuses),
                sum(axes.activity_shares[s] for s in statuses) >= MEMBER_SHARE - 1e-12,
            )
        )
    return tuple(checks)


#: How each evidence (ActivityRhythm.evidence) is said at the end of a name's "why".
EVIDENCE_WORDS = {
    "recency": "activity judged by days since the last purchase",
    "p_alive": "activity judged by P(alive) for repeat buyers",
}


def why_sentence(
    axes: Axes,
    share_revenue: float,
    share_customers: float,
    evidence: str = "",
    money_prefix: str = "",
) -> str:
    """One sentence of the numbers behind the name, and which evidence named its activity."""
    pct = axes.spend_percentile
    place = (
        f"top {max(1, round(100 * (1 - pct)))}% on spend"
        if pct >= 0.5
        else f"bottom {max(1, round(100 * pct))}% on spend"
    )
    shares = axes.activity_shares
    if axes.activity == "mixed":
        activity = (
            f"mixed activity ({shares['active']:.0%} active, {shares['cooling']:.0%} cooling, "
            f"{shares['lapsed']:.0%} lapsed)"
        )
    else:
        statuses = ACTIVITY_LABELS[axes.activity]
        activity = f"{ACTIVITY_WORDS[axes.activity]} ({_activity_observed(axes, statuses)})"
    orders = "order" if axes.median_purchases == 1 else "orders"
    spend = money_words(axes.median_spend, money_prefix)
    return (
        # "(medians)" after all three: "(median)" after the first read as if the orders and
        # the spend were the segment's averages, which the dashboard shows beside it
        f"bought {_days(axes.median_recency)} ago, "
        f"{_fmt(axes.median_purchases)} {orders}, {spend} spent (medians): {place}, "
        f"{activity}; {share_revenue:.0%} of revenue from {share_customers:.0%} of customers"
        + (f"; {EVIDENCE_WORDS[evidence]}" if evidence in EVIDENCE_WORDS else "")
    )


#: How a tag names a tier of each axis, to tell apart segments that share a name.
TAG_WORDS: dict[str, dict[str, str]] = {
    "value": {tier: f"{tier} spend" for tier in VALUE_TIERS},
    "engagement": {tier: f"{tier} buyers" for tier in ENGAGEMENT_TIERS},
    "activity": dict(ACTIVITY_WORDS),
}


def _axis_tags(group: list[Axes]) -> list[str] | None:
    """Each segment's tiers on the fewest axes that tell the group apart (value first, then
    engagement, then activity), or None when some of them are alike on all three."""
    axes = tuple(TAG_WORDS)
    for size in range(1, len(axes) + 1):
        for subset in itertools.combinations(axes, size):
            tags = [", ".join(TAG_WORDS[a][getattr(ax, a)] for a in subset) for ax in group]
            if len(set(tags)) == len(tags):
                return tags
    return None


def _spend_tags(spend: list[float]) -> list[str]:
    """Tags by spend among the group, highest first: for segments alike on every axis."""
    order = sorted(range(len(spend)), key=lambda i: -spend[i])
    ranked = (
        ["higher spend", "lower spend"]
        if len(order) == 2
        else ["high spend"] + ["mid spend"] * (len(order) - 2) + ["low spend"]
    )
    tags = [""] * len(spend)
    for i, tag in zip(order, ranked, strict=True):
        tags[i] = tag
    return tags


def unique_names(names: list[str], axes: list[Axes]) -> list[str]:
    """Make names unique: segments sharing a name are told apart by their tiers on the axes
    where they differ ("At risk (high spend)", "At risk (frequent buyers)"), which read the
    same in every run of the shop; by their spend among themselves when they differ on none."""
    out = list(names)
    for name in set(names):
        idx = [i for i, n in enumerate(names) if n == name]
        if len(idx) < 2:
            continue
        group = [axes[i] for i in idx]
        tags = _axis_tags(group) or _spend_tags([a.median_spend for a in group])
        for i, tag in zip(idx, tags, strict=True):
            out[i] = f"{name} ({tag})"
    seen: dict[str, int] = {}
    for i, n in enumerate(out):  # e.g. several "mid spend": number them
        if out.count(n) > 1:
            seen[n] = seen.get(n, 0) + 1
            out[i] = f"{n} {seen[n]}"
    return out


def base_of(name: str) -> str:
    """The rule's name inside a made-unique name ("At risk (higher spend)" -> "At risk")."""
    return name.split(" (")[0]


def playbook_entry(name: str) -> tuple[str, str]:
    return PLAYBOOK.get(base_of(name), ("Review manually.", "No playbook entry for this name."))
