"""Number formatting for the report pages."""

from __future__ import annotations

import math

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

register = template.Library()
MISSING = "—"


def _finite(value) -> float | None:
    """The value as a finite number, or None (missing, not a number, NaN or infinite):
    every numeric filter shows a dash then."""
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@register.filter
def pct(value, digits: int = 1) -> str:
    """A share (0..1) as a percentage: 0.1234 -> "12.3%"; empty for missing values."""
    if value is None or value == "":
        return "—"
    try:
        number = float(value) * 100
    except (TypeError, ValueError):
        return "—"
    return f"{number:.{int(digits)}f}%"


@register.filter
def num(value, digits: int = 2) -> str:
    """A measurement with thousands separators and at most `digits` decimals."""
    if value is None or value == "":
        return "—"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return "—"
    digits = int(digits)
    if abs(number) >= 1000:
        digits = 0
    text = f"{number:,.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


@register.filter
def times(value) -> str:
    """A lift as "2.3×" (how many times the average customer)."""
    if value is None:
        return "—"
    return f"{float(value):.2f}×"


@register.filter
def horizon(days) -> str:
    """A value horizon in words: 90 -> "next 90 days"; empty when the run has none."""
    try:
        days = int(days)
    except (TypeError, ValueError):
        return ""
    if days <= 0:
        return ""
    return "next day" if days == 1 else f"next {days} days"


@register.filter
def money(value, symbol: str = "") -> str:
    """An amount with two decimals, thousands separators and the workspace's currency
    symbol (the context's `currency_symbol`): {{ 12345.678|money:currency_symbol }} ->
    "£12,345.68"; a minus sign goes before the symbol."""
    number = _finite(value)
    if number is None:
        return MISSING
    sign = "-" if number < 0 else ""
    return f"{sign}{symbol or ''}{abs(number):,.2f}"


@register.simple_tag
def measure(value, unit: str = "", symbol: str = "") -> str:
    """A feature's value as its unit asks (``clustering.report.charts.feature_unit``): an
    amount with the currency symbol, whole days, a percentage, or a plain number:
    {% measure row.median row.unit currency_symbol %}."""
    if unit == "money":
        return money(value, symbol)
    if unit == "days":
        return num(value, 0)
    if unit == "share":
        return pct(value) if _finite(value) is not None else MISSING
    return num(value)


@register.filter
def count(value) -> str:
    """A whole number of things with thousands separators: 75000 -> "75,000"."""
    number = _finite(value)
    if number is None:
        return MISSING
    return f"{round(number):,}"


@register.filter
def days(value) -> str:
    """A number of days in words: 1 -> "1 day", 373.4 -> "373 days"."""
    number = _finite(value)
    if number is None:
        return MISSING
    whole = round(number)
    return f"{whole:,} day" if whole == 1 else f"{whole:,} days"


#: The one date format of the pages ("10 Dec 2011"): day, month and year, never ambiguous.
DAY_FORMAT = "j M Y"


@register.filter
def day(value) -> str:
    """A date or a time as its day in the pages' one format, in the active time zone:
    "10 Dec 2011"; "—" when missing."""
    from django.utils import dateformat, timezone

    if value is None or value == "":
        return "—"
    if hasattr(value, "tzinfo") and hasattr(value, "hour") and timezone.is_aware(value):
        value = timezone.localtime(value)
    try:
        return dateformat.format(value, DAY_FORMAT)
    except (AttributeError, TypeError, ValueError):
        return "—"


@register.filter
def line_time(value) -> str:
    """A transaction line's time in the active (the shop's) time zone, "10 Dec 2011 08:26";
    its day alone at midnight, where a file gave dates without times."""
    from django.utils import dateformat, timezone

    if value is None or value == "":
        return MISSING
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return day(value)
    return dateformat.format(local, f"{DAY_FORMAT} H:i")


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key)


__all__ = [
    "count",
    "day",
    "days",
    "get_item",
    "horizon",
    "intcomma",
    "money",
    "num",
    "pct",
    "times",
]


@register.filter
def algorithm(name) -> str:
    """An algorithm's label: "minibatch_kmeans" -> "MiniBatch K-Means"."""
    from clustering.engine.vocabulary import algorithm_label

    return algorithm_label(name)
