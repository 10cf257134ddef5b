"""The figures a bulk load counts while its lines pass (no database): exact distinct counts
across chunks, with work that stays near linear however many chunks a file has."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from customers.importing import figures
from customers.importing.figures import DistinctValues


def test_distinct_values_are_counted_exactly_across_chunks(monkeypatch):
    monkeypatch.setattr(figures, "COLLAPSE_FROM", 50)  # collapse often, on small chunks
    rng = np.random.default_rng(7)
    counted = DistinctValues()
    seen: set[str] = set()
    for _ in range(200):
        values = pd.Series([f"INV{v}" for v in rng.integers(0, 5_000, size=40)])
        values[::13] = None  # a missing value is not a value
        counted.add(values)
        seen.update(v for v in values if pd.notna(v))
    assert counted.collapses > 3
    assert len(counted) == len(seen)


def test_each_value_is_collapsed_a_logarithmic_number_of_times(monkeypatch):
    monkeypatch.setattr(figures, "COLLAPSE_FROM", 1_000)
    counted = DistinctValues()
    chunks, per_chunk = 400, 500
    for chunk in range(chunks):  # all values new: the collapsed set only grows
        counted.add(pd.Series([f"C{chunk}-{i}" for i in range(per_chunk)]))
    assert len(counted) == chunks * per_chunk
    # Collapsing every few chunks would go over all values seen so far each time, ~chunks
    # times in all: quadratic. Doubling keeps it to about log2(total / COLLAPSE_FROM).
    assert counted.collapses <= math.ceil(math.log2(chunks * per_chunk / 1_000)) + 1
