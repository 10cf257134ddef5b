"""The dry run before an import writes: its first rows, as the pipeline normalised them with
the real rules, are judged before any chunk is written. Too many rejected (most often a
column mapped to the wrong field) and the import stops, having written nothing."""

from __future__ import annotations

from collections import Counter

from django.conf import settings

from .outcomes import ImportStopped, advice, commonest_problem


class DryRun:
    """Counts the rejected rows among the first `rows` rows of the file; the caller holds
    back the chunks until `complete` and then asks `check()`."""

    def __init__(self, *, rows: int | None = None, max_share: float | None = None):
        self.rows = settings.IMPORT_DRY_RUN_ROWS if rows is None else rows
        self.max_share = (
            settings.IMPORT_DRY_RUN_MAX_REJECTED_SHARE if max_share is None else max_share
        )
        self.checked = 0
        self.rejected = 0
        self.problems: Counter = Counter()  # (column, message) -> rows
        self.complete = self.rows <= 0

    def see(self, rows_read: int, line_numbers, rejections, bad_rows) -> None:
        """One chunk: its rows read, the line number of each of its rows, its rejections
        (Rejection) and the rows of the wrong width found while parsing it (BadRow)."""
        if self.complete:
            return
        remaining = self.rows - self.checked
        if rows_read + len(bad_rows) <= remaining:
            self.checked += rows_read + len(bad_rows)
            last_line = None
        else:
            # The window ends inside this chunk: at the line of its remaining-th row.
            last_line = int(line_numbers[max(min(remaining, len(line_numbers)) - 1, 0)])
            self.checked = self.rows
            self.complete = True
        for bad in bad_rows:
            if last_line is None or bad.line_number <= last_line:
                self._count("", bad.message)
        for rejection in rejections:
            if last_line is None or rejection.line_number <= last_line:
                self._count(rejection.column, rejection.message)
        if self.checked >= self.rows:
            self.complete = True

    def _count(self, column: str, message: str) -> None:
        self.rejected += 1
        self.problems[(column, message)] += 1

    def check(self, run) -> None:
        """Raise ImportStopped (with `run`, the pass's counts and rejected rows so far)
        when more than the allowed share of the checked rows was rejected."""
        self.complete = True
        if not self.checked or self.rejected / self.checked <= self.max_share:
            return
        raise ImportStopped(
            f"{self.rejected:,} of the first {self.checked:,} rows were rejected, most for "
            f"{commonest_problem(self.problems)}: {advice(self.problems)}. "
            "Nothing was imported.",
            run,
        )
