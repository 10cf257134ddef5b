"""The first rows of a file, as read and as a mapping would store them, for the mapping page.

The rows are read once, with the header (on the worker for a workbook), and kept as JSON
(file_sample); the page works from what was kept (stored_sample) and never opens the file.

The rows go through the import's own Normaliser, so the preview shows what the import
would do (a parsed date, an amount, a customer id, or the reason a row is rejected).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from . import dates
from .columns import MONEY_GAP, REQUIRED, gap_label
from .errors import ImportFileError
from .guesses import SAMPLE_ROWS
from .normalise import OTHER_ORDER, ChunkResult, Normaliser, order_contradiction
from .plausible import Bounds
from .sources import SourceInfo, Utf8Invalid, fall_back_from_utf8, iter_chunks

PREVIEW_ROWS = 10
# A stored sample stays small whatever the file holds: each cell is cut past any field's
# longest accepted value (a value cut stays too long, so the preview still rejects it), and
# rows stop once the sample holds about a million characters (at least one row is kept).
SAMPLE_CELL_CHARS = 1000
SAMPLE_MAX_CHARS = 1_000_000


@dataclass
class FileSample:
    frame: pd.DataFrame  # every column, values as text (None when empty)
    line_numbers: np.ndarray
    delimiter: str = ","  # the CSV's: another than "," means decimal commas

    def to_json(self) -> dict:
        """The sample as JSON (kept on an import for its mapping step), within the bounds
        above."""
        rows: list[list[str | None]] = []
        total = 0
        for values in self.frame.itertuples(index=False, name=None):
            row = [_stored_cell(v) for v in values]
            total += sum(len(v) for v in row if v)
            if rows and total > SAMPLE_MAX_CHARS:
                break
            rows.append(row)
        return {
            "columns": [str(c) for c in self.frame.columns],
            "line_numbers": [int(n) for n in self.line_numbers[: len(rows)]],
            "rows": rows,
            "delimiter": self.delimiter,
        }

    @classmethod
    def from_json(cls, data: dict, *, columns: list[str]) -> FileSample:
        """A sample stored by to_json; an empty one (no rows) when nothing was stored."""
        stored = data.get("columns") or columns
        frame = pd.DataFrame(data.get("rows") or [], columns=stored, dtype=object)
        frame = frame.astype(object).where(frame.notna(), None)
        numbers = np.asarray(data.get("line_numbers") or [], dtype=np.int64)
        return cls(frame, numbers, data.get("delimiter") or ",")


def _stored_cell(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return str(value)[:SAMPLE_CELL_CHARS]


def first_rows(path: Path, info: SourceInfo, rows: int) -> FileSample:
    """The file's first `rows` data rows (rows of the wrong width left out)."""
    try:
        sample = _first_rows(path, info, rows)
    except Utf8Invalid:
        fall_back_from_utf8(info)
        sample = _first_rows(path, info, rows)
    sample.delimiter = info.delimiter
    return sample


def file_sample(path: Path, info: SourceInfo, rows: int = SAMPLE_ROWS) -> dict:
    """The first rows as kept on an import for its mapping step (FileSample.to_json), read
    once with the header; {"error": why} when they cannot be read (the import says it too)."""
    try:
        return first_rows(path, info, rows).to_json()
    except ImportFileError as exc:
        return {"error": str(exc)}


def stored_sample(data: dict, *, columns: list[str]) -> FileSample:
    """A sample kept by file_sample; ImportFileError with the reason it could not be read."""
    if data.get("error"):
        raise ImportFileError(data["error"])
    return FileSample.from_json(data, columns=columns)


def _first_rows(path: Path, info: SourceInfo, rows: int) -> FileSample:
    frames, numbers, have = [], [], 0
    for chunk in iter_chunks(path, info, columns=info.columns, on_bad_row=lambda bad: None):
        frames.append(chunk.frame.head(rows - have))
        numbers.append(chunk.line_numbers[: rows - have])
        have += len(frames[-1])
        if have >= rows:
            break
    if not frames:
        return FileSample(pd.DataFrame(columns=info.columns), np.array([], dtype=np.int64))
    frame = pd.concat(frames, ignore_index=True)
    return FileSample(frame, np.concatenate(numbers))


@dataclass
class StoredLine:
    customer_id: str
    timestamp: datetime  # UTC
    invoice: str
    quantity: float
    unit_price: float
    amount: float


@dataclass
class PreviewRow:
    line_number: int
    read: list[str]  # the file's values, in the file's column order
    stored: StoredLine | None  # None: rejected or skipped (see problem)
    problem: str = ""


@dataclass
class Preview:
    columns: list[str]
    rows: list[PreviewRow] = field(default_factory=list)
    # Why the rows cannot be shown as stored yet (an incomplete mapping, dates that need an
    # order), in a sentence that says what to do; empty when they are.
    missing: str = ""
    date_order: str | None = None  # as used (told by the dates when none was given)
    # The sample's dates contradict a date order nobody chose for the file: the import
    # would fail with this message (also in `missing`).
    contradiction: str = ""


def mapping_gaps(mapping: dict[str, str]) -> list[str]:
    """The fields a mapping still needs before rows can be stored."""
    gaps = [f for f in REQUIRED if not mapping.get(f)]
    if not mapping.get("unit_price") and not mapping.get("amount"):
        gaps.append(MONEY_GAP)
    return gaps


def preview(
    sample: FileSample,
    mapping: dict[str, str],
    *,
    date_order: str | None,
    time_zone: str,
    decimal_comma: bool = False,
    bounds: Bounds | None = None,
    uploaded_at: datetime | None = None,
    rows: int = PREVIEW_ROWS,
    order_default_from: str | None = None,
    pseudonym_key: str = "",
    currency: str = "",
    money_marks: frozenset[str] = frozenset(),
    kept_customer_ids: frozenset[str] = frozenset(),
    kept_out_customer_ids: frozenset[str] = frozenset(),
) -> Preview:
    """The first `rows` rows of `sample` as read and as `mapping` would store them.
    `order_default_from`: where `date_order` came from when nobody chose it for the file
    (Normaliser.order_default_from); the whole sample's dates are checked against it."""
    frame = sample.frame.head(rows)
    numbers = sample.line_numbers[: len(frame)]
    columns = list(sample.frame.columns)
    result = Preview(columns=columns)
    read = [["" if v is None or v is pd.NA else str(v) for v in row] for row in frame.to_numpy()]
    unread = [PreviewRow(int(n), r, None) for n, r in zip(numbers, read, strict=True)]
    gaps = mapping_gaps(mapping)
    if gaps:
        fields = ", ".join(gap_label(g).lower() for g in gaps)
        result.missing = f"Choose the column of {fields}, then preview again."
        result.rows = unread
        return result
    mapping = {f: c for f, c in mapping.items() if c}
    order = date_order or None
    if order_default_from is not None and order in OTHER_ORDER:
        values = pd.Series(sample.frame[mapping["timestamp"]], dtype="str").str.strip()
        contradiction = order_contradiction(
            values.dropna(), order, order_default_from, then="preview or import"
        )
        if contradiction:
            result.missing = result.contradiction = contradiction
            result.date_order = order
            result.rows = unread
            return result

    def normalise(order: str | None) -> ChunkResult:
        normaliser = Normaliser(
            mapping=mapping,
            date_order=order,
            time_zone=time_zone,
            decimal_comma=decimal_comma,
            bounds=bounds or Bounds(),
            uploaded_at=uploaded_at,
            pseudonym_key=pseudonym_key,
            currency=currency,
            money_marks=money_marks,
            kept_customer_ids=kept_customer_ids,
            kept_out_customer_ids=kept_out_customer_ids,
        )
        return normaliser.run(frame.reset_index(drop=True), np.asarray(numbers))

    try:
        outcome = normalise(order)
    except dates.DateOrderNeeded:
        values = pd.Series(sample.frame[mapping["timestamp"]], dtype="str").str.strip()
        day_first, month_first = dates.order_evidence(values)
        try:
            order = dates.decide_order(
                day_first,
                month_first,
                dates.day_month_example(values),
                then="preview or import",
                dotted=dates.dotted_only(values),
            )
        except ImportFileError as exc:
            result.missing = str(exc)
            result.rows = unread
            return result
        outcome = normalise(order)
    result.date_order = order
    stored = {int(row.line_no): row for row in outcome.lines.itertuples()}
    problems: dict[int, str] = {}
    for rejection in outcome.rejections:
        problems.setdefault(
            rejection.line_number,
            f"Rejected: “{rejection.value}” in {rejection.column}: {rejection.message}",
        )
    for n, values in zip(numbers, read, strict=True):
        line = stored.get(int(n))
        row = PreviewRow(int(n), values, None, problems.get(int(n), ""))
        if line is not None:
            row.stored = StoredLine(
                customer_id=line.customer_ext,
                timestamp=pd.Timestamp(line.ts).to_pydatetime(),
                invoice=line.invoice,
                quantity=float(line.quantity),
                unit_price=float(line.unit_price),
                amount=float(line.amount),
            )
        elif not row.problem:
            row.problem = "Skipped: no customer id."
        result.rows.append(row)
    return result
