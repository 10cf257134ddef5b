"""A whole file into normalised transaction lines, by the web import's rules, in memory.

For callers that want the lines as one DataFrame (the segmentation engine's command line).
The web import reads the same way but chunk by chunk, in threads, straight into the database
(customers.importing.pipeline): both use inspect_source, resolve_mapping, iter_chunks, the
Normaliser, check_latin1_chunk and detect_date_order, so a file gives the same lines to both.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import dates
from .code_pages import DEFAULT_CODE_PAGE
from .columns import resolve_mapping
from .errors import ImportFileError
from .normalise import LINE_COLUMNS, Normaliser, Rejection
from .sources import (
    FALLBACK_ENCODING,
    NOT_TEXT_MESSAGE,
    BadRow,
    Chunk,
    SourceInfo,
    Utf8Invalid,
    check_latin1_text,
    fall_back_from_utf8,
    inspect_source,
    iter_chunks,
)

# Rejected rows kept for showing (all are counted).
MAX_KEPT_REJECTIONS = 100


@dataclass
class FileLines:
    lines: pd.DataFrame  # normalise.LINE_COLUMNS, in the file's order
    mapping: dict[str, str]  # field -> column, as used
    info: SourceInfo
    date_order: str | None  # as given, or as detected from the dates (None: not needed)
    rows_read: int = 0
    rows_skipped: int = 0  # no customer id, or an order that was no sale
    rows_rejected: int = 0
    reasons: Counter = field(default_factory=Counter)
    rejections: list[Rejection] = field(default_factory=list)  # the first ones
    notices: list[str] = field(default_factory=list)


def check_date_order(date_order: str | None) -> str | None:
    """None (decide from the dates when needed) or one of dates.ORDERS."""
    if not date_order:
        return None
    if date_order not in dates.ORDERS:
        raise ImportFileError(
            f"Unknown date order “{date_order}”; choose one of {', '.join(dates.ORDERS)}."
        )
    return date_order


def check_latin1_chunk(info: SourceInfo, chunk: Chunk) -> None:
    """ImportFileError when a file read as Windows-1252 holds control characters: it was
    neither UTF-8 nor Windows-1252 text."""
    if info.encoding == FALLBACK_ENCODING and not check_latin1_text(chunk.frame):
        raise ImportFileError(NOT_TEXT_MESSAGE)


def detect_date_order(path: Path, info: SourceInfo, column: str) -> str:
    """Day-first or month-first, from the whole date column (a value such as 31/01 or 01/31
    decides; dates all written with dots are day-first); ImportFileError when the dates mix
    both or never tell."""
    day_first = month_first = False
    dotted = True
    example = ""
    for chunk in iter_chunks(path, info, columns=[column], on_bad_row=lambda bad: None):
        values = chunk.frame[column].astype("str").str.strip()
        d, m = dates.order_evidence(values)
        day_first |= d
        month_first |= m
        dotted &= dates.dotted_only(values)
        example = example or dates.day_month_example(values)
    return dates.decide_order(day_first, month_first, example, dotted=dotted)


def read_lines(
    path: str | Path,
    *,
    mapping: dict[str, str] | None = None,
    date_order: str | None = None,
    time_zone: str = "UTC",
    sheet: str = "",
    code_page: str = DEFAULT_CODE_PAGE,
) -> FileLines:
    """Every line of the file: the header recognised (Online Retail, CDNOW, ...) or mapped
    by `mapping` ({field: column}, see columns.FIELDS), dates read in `date_order` (None:
    decided from the dates when they are day/month forms) as wall-clock times in `time_zone`.

    Raises ImportFileError (MappingNeeded when columns are missing) with a message for the
    person who gave the file, as the web import does.
    """
    path = Path(path)
    order = check_date_order(date_order)
    info = inspect_source(path, sheet=sheet, code_page=code_page)
    used = resolve_mapping(info.columns, mapping)
    try:
        result = _read(path, info, used, order, time_zone)
    except Utf8Invalid:
        # Invalid UTF-8 after the first block: read the whole file again.
        notice = fall_back_from_utf8(info)
        result = _read(path, info, used, order, time_zone)
        result.notices.append(notice)
    result.notices[:0] = info.notices
    if result.rows_read == 0:
        raise ImportFileError("The file has a header line but no rows.")
    return result


def _read(
    path: Path, info: SourceInfo, mapping: dict[str, str], date_order: str | None, time_zone: str
) -> FileLines:
    normaliser = Normaliser(
        mapping=mapping,
        date_order=date_order,
        time_zone=time_zone,
        decimal_comma=info.delimiter != ",",
    )
    out = FileLines(
        lines=pd.DataFrame(columns=LINE_COLUMNS), mapping=mapping, info=info, date_order=None
    )
    bad_rows: list[BadRow] = []
    parts = []
    columns = list(dict.fromkeys(mapping.values()))
    for chunk in iter_chunks(path, info, columns=columns, on_bad_row=bad_rows.append):
        check_latin1_chunk(info, chunk)
        try:
            result = normaliser.run(chunk.frame, chunk.line_numbers)
        except dates.DateOrderNeeded:
            normaliser.date_order = detect_date_order(path, info, mapping["timestamp"])
            result = normaliser.run(chunk.frame, chunk.line_numbers)
        out.rows_read += result.rows_read
        out.rows_skipped += result.rows_skipped
        out.rows_rejected += len(result.rejections)
        out.reasons.update(result.reasons)
        _keep(out, result.rejections)
        if len(result.lines):
            parts.append(result.lines)
    # Rows of the wrong width, as the import counts them.
    out.rows_read += len(bad_rows)
    out.rows_rejected += len(bad_rows)
    if bad_rows:
        out.reasons["rejected_wrong_column_count"] += len(bad_rows)
    _keep(out, [Rejection(b.line_number, "", b.text, b.message) for b in bad_rows])
    out.rejections.sort(key=lambda r: r.line_number)
    del out.rejections[MAX_KEPT_REJECTIONS:]
    out.date_order = normaliser.date_order
    if parts:
        out.lines = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return out


def _keep(out: FileLines, rejections: list[Rejection]) -> None:
    room = MAX_KEPT_REJECTIONS - len(out.rejections)
    if room > 0:
        out.rejections.extend(rejections[:room])
