"""Read a transaction file into canonical transaction lines (see types.py).

The file is read by transaction_files, the web import's own reader: the same layouts
recognised without a mapping (Online Retail, CDNOW, ...), the same column mapping for any
other layout, and the same parsing rules (trimming, dates and their order, numbers, rows
rejected, returns, non-product stock codes). Lines are kept as the file has them: the import
also leaves out lines repeated within the file when it stores them, this reader does not.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from transaction_files.code_pages import DEFAULT_CODE_PAGE
from transaction_files.columns import resolve_mapping
from transaction_files.reader import FileLines, read_lines
from transaction_files.sources import inspect_source

from .types import TRANSACTION_COLUMNS


def read_file(
    path: str | Path,
    *,
    mapping: dict[str, str] | None = None,
    date_order: str | None = None,
    sheet: str = "",
    code_page: str = DEFAULT_CODE_PAGE,
) -> FileLines:
    """The import's reading of the file (lines plus counts of rows skipped and rejected).
    Times are read as they are written (wall-clock, no time zone); a file that is not UTF-8
    is read in `code_page`. Raises transaction_files.errors.ImportFileError when the file or
    the mapping is unusable."""
    return read_lines(
        path,
        mapping=mapping,
        date_order=date_order,
        time_zone="UTC",
        sheet=sheet,
        code_page=code_page,
    )


def to_transaction_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """The import's normalised lines (transaction_files.normalise.LINE_COLUMNS) as the
    engine's TRANSACTION_COLUMNS."""
    out = pd.DataFrame(
        {
            "customer_id": lines["customer_ext"].astype("str"),
            "invoice": lines["invoice"].astype("str"),
            "product_code": lines["product_code"].astype("str"),
            "quantity": lines["quantity"].astype("float64"),
            "unit_price": lines["unit_price"].astype("float64"),
            "amount": lines["amount"].astype("float64"),
            "timestamp": pd.to_datetime(lines["ts"], utc=True)
            .dt.tz_localize(None)
            .astype("datetime64[ns]"),
            "country": lines["country"].astype("str"),
            "is_return": lines["is_return"].astype(bool),
            "is_non_product": lines["is_non_product"].astype(bool),
        }
    )
    return out[list(TRANSACTION_COLUMNS)].reset_index(drop=True)


def read_transactions(
    path: str | Path,
    *,
    mapping: dict[str, str] | None = None,
    date_order: str | None = None,
    sheet: str = "",
    code_page: str = DEFAULT_CODE_PAGE,
) -> pd.DataFrame:
    """Canonical transaction lines of the file (see read_file)."""
    read = read_file(path, mapping=mapping, date_order=date_order, sheet=sheet, code_page=code_page)
    return to_transaction_lines(read.lines)


def detect_format(path: str | Path) -> str:
    """The layout the import recognises from the header alone: "online_retail" (invoice
    and stock code columns), "cdnow" (no invoice: one purchase occasion per customer and
    day), or "recognised" for other headers the import knows. Raises MappingNeeded when
    the header is not recognised (a mapping is needed)."""
    mapping = resolve_mapping(inspect_source(Path(path)).columns, None)
    if "invoice" in mapping and "product_code" in mapping:
        return "online_retail"
    if "invoice" not in mapping and "product_code" not in mapping:
        return "cdnow"
    return "recognised"


def read_online_retail(path: str | Path) -> pd.DataFrame:
    """An Online Retail file, recognised by its header (as read_transactions)."""
    return read_transactions(path)
