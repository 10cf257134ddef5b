"""What a shop's transaction line may hold: the one set of bounds that the file import and
the JSON API both apply (through the Normaliser), so a line one accepts the other accepts,
and a segmentation run never meets a date or a number it cannot compute with.

Dates: not before ``earliest_year``, not after the upload's time plus ``future_days`` (a
sale cannot be later than the file that reports it; the tolerance covers clocks and time
zones). Numbers: a quantity, a unit price and a line amount no larger (in absolute value:
returns are negative) than their maxima. Text: codes up to MAX_TEXT characters, a
description up to MAX_DESCRIPTION.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

MAX_TEXT = 64
MAX_DESCRIPTION = 500
# What the line table's columns hold (numeric(14,3), numeric(16,4), numeric(18,4)): a bound
# above these would let PostgreSQL refuse the whole import.
QUANTITY_LIMIT = 1e11
UNIT_PRICE_LIMIT = 1e12
AMOUNT_LIMIT = 1e14
# pandas' nanosecond timestamps (which the engine's features use) start in 1677.
LOWEST_EARLIEST_YEAR = 1900


@dataclass(frozen=True)
class Bounds:
    earliest_year: int = 1990
    future_days: float = 2
    max_quantity: float = 1e6
    max_unit_price: float = 1e8
    max_amount: float = 1e9

    def __post_init__(self) -> None:
        if not LOWEST_EARLIEST_YEAR <= self.earliest_year <= datetime.now(UTC).year:
            raise ValueError(
                f"The earliest year accepted must be between {LOWEST_EARLIEST_YEAR} and "
                f"this year, not {self.earliest_year}."
            )
        if not 0 <= self.future_days <= 366:
            raise ValueError(f"future_days must be between 0 and 366, not {self.future_days}.")
        for name, limit in (
            ("max_quantity", QUANTITY_LIMIT),
            ("max_unit_price", UNIT_PRICE_LIMIT),
            ("max_amount", AMOUNT_LIMIT),
        ):
            value = getattr(self, name)
            if not 0 < value < limit:
                raise ValueError(f"{name} must be above 0 and below {limit:g}, not {value}.")

    def earliest(self) -> pd.Timestamp:
        """The first wall-clock time accepted (naive, like the parsed dates)."""
        return pd.Timestamp(year=self.earliest_year, month=1, day=1)

    def latest(self, uploaded_at: datetime | None, time_zone: str) -> pd.Timestamp:
        """The last wall-clock time accepted in `time_zone` (naive): the upload's time (now
        when None) plus the tolerance, to the second."""
        at = uploaded_at if uploaded_at is not None else datetime.now(UTC)
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        local = at.astimezone(ZoneInfo(time_zone)).replace(tzinfo=None, microsecond=0)
        return pd.Timestamp(local + timedelta(days=self.future_days))

    def too_early_message(self) -> str:
        return f"Dated before {self.earliest_year}, the earliest year accepted."

    def too_late_message(self) -> str:
        days = f"{self.future_days:g} day{'' if self.future_days == 1 else 's'}"
        return f"Dated after the upload's time plus {days}: a sale cannot postdate its upload."

    def maximum(self, name: str) -> float:
        return {
            "quantity": self.max_quantity,
            "unit_price": self.max_unit_price,
            "amount": self.max_amount,
            "discount": self.max_amount,
            "refunded": self.max_amount,
        }[name]


def number_message(name: str, maximum: float, *, derived: str = "") -> str:
    """E.g. "Outside ±1,000,000, the range of quantities accepted."; `derived` says how the
    value was worked out ("Quantity times unit price is outside ...")."""
    what = {
        "quantity": "quantities",
        "unit_price": "unit prices",
        "amount": "line amounts",
        "discount": "line discounts",
        "refunded": "refunds",
    }
    text = f"outside ±{maximum:,.0f}, the range of {what[name]} accepted."
    return f"{derived} is {text}" if derived else text[0].upper() + text[1:]
