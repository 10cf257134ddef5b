"""The figures of the lines an import stored (period, customers, orders, revenue), counted
while the lines pass rather than by reading them back afterwards.

Reading them back meant a scan of every line of the workspace (the line table has no index
on the import) with two COUNT(DISTINCT) sorts: 5 s of a 100,000-customer shop's 26 s bulk
load, and a scan of all 20 million stored lines for a month's 2 million new ones
(docs/scaling.md). The bulk load counts its lines here as it prepares them; the staged
insert counts the rows it inserted in the same statement (staging.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# The line table's amounts have 4 decimals: summed as whole ten-thousandths, exactly, as SQL's
# SUM of the stored numerics is.
AMOUNT_SCALE = 10_000
# Each chunk's distinct values wait beside the ones collapsed so far until they are as many
# (at least this many): then all are collapsed into one array. Memory stays within twice the
# distinct count, and each value is collapsed O(log n) times, where a collapse every few
# chunks went over every value so far each time (docs/scaling.md, ninth session).
COLLAPSE_FROM = 250_000


@dataclass(frozen=True)
class StoredTotals:
    """The stored lines' totals (what stored_figures reads from the line table)."""

    first: datetime | None
    last: datetime | None
    customers: int
    orders: int
    revenue: Decimal | None


class DistinctValues:
    """How many distinct values a column's chunks hold between them, exactly."""

    def __init__(self) -> None:
        self._parts: list[pa.Array] = []  # the collapsed values first, then the waiting ones
        self._collapsed_size = 0
        self._waiting = 0
        self.collapses = 0

    def add(self, values: pd.Series) -> None:
        part = pc.unique(pa.array(values, type=pa.string(), from_pandas=True))
        self._parts.append(part)
        self._waiting += len(part)
        if self._waiting >= max(self._collapsed_size, COLLAPSE_FROM):
            self._parts = [self._collapsed()]
            self._collapsed_size, self._waiting = len(self._parts[0]), 0
            self.collapses += 1

    def _collapsed(self) -> pa.Array:
        if not self._parts:
            return pa.array([], type=pa.string())
        return pc.unique(pa.concat_arrays(self._parts))

    def __len__(self) -> int:
        return len(self._collapsed().drop_null())


class LineFigures:
    """Adds up the lines a bulk load stores, chunk by chunk (normalised lines: `ts` aware,
    `amount` a float, the flags booleans)."""

    def __init__(self) -> None:
        self.first: pd.Timestamp | None = None
        self.last: pd.Timestamp | None = None
        self.revenue = 0  # in 1 / AMOUNT_SCALE
        self.purchases = 0
        self.customers = DistinctValues()
        self.orders = DistinctValues()

    def add(self, lines: pd.DataFrame) -> None:
        if lines.empty:
            return
        ts = lines["ts"]
        first, last = ts.min(), ts.max()
        self.first = first if self.first is None else min(self.first, first)
        self.last = last if self.last is None else max(self.last, last)
        purchase = ~(lines["is_return"].to_numpy(bool) | lines["is_non_product"].to_numpy(bool))
        self.purchases += int(purchase.sum())
        amounts = lines["amount"].to_numpy(float)[purchase]
        self.revenue += int(np.rint(amounts * AMOUNT_SCALE).astype(np.int64).sum())
        self.customers.add(lines["customer_ext"])
        self.orders.add(lines["invoice"])

    def totals(self) -> StoredTotals:
        return StoredTotals(
            first=None if self.first is None else self.first.to_pydatetime(),
            last=None if self.last is None else self.last.to_pydatetime(),
            customers=len(self.customers),
            orders=len(self.orders),
            # As SQL's SUM over no row: none
            revenue=Decimal(self.revenue) / AMOUNT_SCALE if self.purchases else None,
        )
