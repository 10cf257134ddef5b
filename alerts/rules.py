"""Which rules fire for a publication's movements, and what each alert says: pure functions
of the rules and clustering.movements.Movements (its runs' expected values included; no
database, no mail), so every rule is tested on hand-made movements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from workspaces.currencies import currency_symbol

from .models import Kind

if TYPE_CHECKING:
    from clustering.movements import Flow, Movements


class RuleLike(Protocol):
    pk: Any
    kind: str
    threshold: float | None
    min_customers: int | None


@dataclass(frozen=True)
class Firing:
    """One alert to raise: the rule that fired, what happened in words, and the numbers."""

    rule_id: int
    kind: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


def day(value: date) -> str:
    """1 Dec 2026: how the site writes a day."""
    return f"{value.day} {value:%b %Y}"


def money(amount: float, currency: str) -> str:
    return f"{currency_symbol(currency)}{amount:,.0f}"


def _people(count: int) -> str:
    return f"{count:,} customer{'' if count == 1 else 's'}"


def segment_sizes(movements: Movements) -> tuple[dict[int, int], dict[int, int]]:
    """Customers per segment number in the earlier run and in the later run."""
    earlier: dict[int, int] = {}
    later: dict[int, int] = {}
    for flow in movements.flows:
        if flow.source is not None:
            earlier[flow.source.number] = earlier.get(flow.source.number, 0) + flow.customers
        if flow.target is not None:
            later[flow.target.number] = later.get(flow.target.number, 0) + flow.customers
    return earlier, later


def size_changes(rule: RuleLike, movements: Movements, *, published_on: date) -> list[Firing]:
    """A segment of the later run that grew or shrank by more than the rule's threshold
    (percent) against the earlier segment it continues. New segments have nothing to
    compare with and never fire."""
    threshold = float(rule.threshold or 0)
    earlier_sizes, later_sizes = segment_sizes(movements)
    names = {f.target.number: f.target.name for f in movements.flows if f.target is not None}
    firings = []
    for number, continues in sorted(movements.matches.items()):
        before = earlier_sizes.get(continues, 0) if continues is not None else 0
        after = later_sizes.get(number, 0)
        if continues is None or before == 0:
            continue
        change = 100.0 * (after - before) / before
        if abs(change) <= threshold:
            continue
        verb = "grew" if change > 0 else "shrank"
        message = (
            f"{names.get(number, f'Segment {number}')} {verb} by {abs(change):.0f}% "
            f"({before:,} → {after:,} customers) in the run published on {day(published_on)}"
        )
        firings.append(
            Firing(
                rule_id=rule.pk,
                kind=Kind.SEGMENT_SIZE_CHANGE,
                message=message,
                details={
                    "segment": number,
                    "continues": continues,
                    "before": before,
                    "after": after,
                    "change_percent": round(change, 1),
                    "threshold": threshold,
                },
            )
        )
    return firings


def is_lapse(flow: Flow) -> bool:
    """Customers who were in a valuable, still active segment and are now in a lapsed one
    (a valuable segment that was already lapsed losing them is no news)."""
    source, target = flow.source, flow.target
    return (
        source is not None
        and target is not None
        and source.valuable
        and not source.lapsed
        and target.lapsed
    )


def lapses(rule: RuleLike, movements: Movements) -> list[Firing]:
    """Each flow of more than the rule's number of customers from a valuable segment to a
    lapsed one, largest first."""
    least = int(rule.min_customers or 0)
    firings = []
    for flow in movements.flows:
        if not is_lapse(flow) or flow.customers <= least:
            continue
        assert flow.source is not None and flow.target is not None  # is_lapse checked
        message = (
            f"{_people(flow.customers)} moved from {flow.source.name} to {flow.target.name} "
            f"({money(flow.revenue, movements.currency)} of revenue in the earlier run's period)"
        )
        firings.append(
            Firing(
                rule_id=rule.pk,
                kind=Kind.VALUABLE_TO_LAPSED,
                message=message,
                details={
                    "source": flow.source.number,
                    "target": flow.target.number,
                    "customers": flow.customers,
                    "revenue": round(flow.revenue, 2),
                    "currency": movements.currency,
                    "min_customers": least,
                },
            )
        )
    return firings


#: What makes two runs' expected values comparable: the same horizon, discount and margin
_VALUE_TERMS = ("horizon_days", "discount_rate", "margin")


def _value_ahead(run) -> tuple[float, tuple] | None:
    """A run's total expected value and the terms it was estimated on (None: not estimated)."""
    value = getattr(run, "value_ahead", None) or {}
    total = value.get("total_expected_value")
    if total is None or not value.get("horizon_days"):
        return None
    return float(total), tuple(value.get(term) for term in _VALUE_TERMS)


def value_drop(rule: RuleLike, movements: Movements, *, published_on: date) -> list[Firing]:
    """The customers' expected value over the later run's horizon fell by more than the
    rule's threshold (percent) against the earlier run's. Runs that did not estimate it, or
    estimated it on other terms (horizon, discount, margin), compare nothing."""
    before, after = _value_ahead(movements.earlier_run), _value_ahead(movements.later_run)
    if before is None or after is None or before[1] != after[1] or before[0] <= 0:
        return []
    threshold = float(rule.threshold or 0)
    change = 100.0 * (after[0] - before[0]) / before[0]
    if -change <= threshold:
        return []
    horizon = after[1][0]
    currency = movements.currency
    message = (
        f"The customers' expected value over the next {horizon} days fell by {-change:.0f}% "
        f"({money(before[0], currency)} → {money(after[0], currency)}) in the run published "
        f"on {day(published_on)}"
    )
    details = {
        "before": round(before[0], 2),
        "after": round(after[0], 2),
        "currency": currency,
        "horizon_days": horizon,
        "change_percent": round(change, 1),
        "threshold": threshold,
    }
    return [Firing(rule.pk, Kind.EXPECTED_VALUE_DROP, message, details)]


def evaluate(
    rules: Sequence[RuleLike], movements: Movements | None, *, published_on: date
) -> list[Firing]:
    """The alerts a publication raises. `movements` is None for a workspace's first
    publication: nothing to compare, nothing fires."""
    if movements is None:
        return []
    firings: list[Firing] = []
    for rule in rules:
        if rule.kind == Kind.SEGMENT_SIZE_CHANGE:
            firings += size_changes(rule, movements, published_on=published_on)
        elif rule.kind == Kind.VALUABLE_TO_LAPSED:
            firings += lapses(rule, movements)
        elif rule.kind == Kind.EXPECTED_VALUE_DROP:
            firings += value_drop(rule, movements, published_on=published_on)
    return firings


def run_failures(
    rules: Sequence[RuleLike], *, run_id: int, run_name: str, error: str, failed_on: date
) -> list[Firing]:
    """One alert per scheduled_run_failed rule for a scheduled run that failed."""
    reason = error.strip() or "no reason was recorded"
    message = f"The scheduled run {run_name} failed on {day(failed_on)}: {reason}"
    return [
        Firing(
            rule_id=rule.pk,
            kind=Kind.SCHEDULED_RUN_FAILED,
            message=message,
            details={"run": run_id},
        )
        for rule in rules
        if rule.kind == Kind.SCHEDULED_RUN_FAILED
    ]
