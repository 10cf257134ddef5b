"""CSV exports shared by pages and the API: streamed, and safe to open in a spreadsheet."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence

from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header

#: A cell starting with one of these would be run as a formula by a spreadsheet.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value) -> str:
    """Keep a spreadsheet from running a cell as a formula (CSV injection).

    Numbers are written as they are (a negative amount is data, not a formula); text that
    starts with a formula character gets a leading apostrophe.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value) if isinstance(value, float) else str(value)
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_rows(header: Sequence[str], rows: Iterable[Sequence]) -> Iterable[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(header)  # BOM: Excel then reads UTF-8 correctly
    for row in rows:
        yield writer.writerow([neutralise_cell(v) for v in row])


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]):
    """A streamed CSV download; rows are read lazily (use QuerySet.iterator())."""
    response = StreamingHttpResponse(csv_rows(header, rows), content_type="text/csv; charset=utf-8")
    # Django's header: an RFC 6266 filename* for names beyond ASCII (a segment or country
    # name in Polish), which a plain filename="" would mangle
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
