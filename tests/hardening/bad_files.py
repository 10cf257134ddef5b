"""The bad-file corpus of issue 23, item 8: each file that used to end with a misleading
message ("unexpected error", "a header line but no rows") or a stored 10 MB description,
built from its recipe (hundreds of KB each, so generated, not committed), with what the
import must say about it. tests/hardening/test_bad_file_corpus.py imports each one."""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
SAMPLE_BYTES = 256 * 1024  # what the upload reads to check a file (transaction_files.sources)

TOO_EARLY = "Dated before 1990, the earliest year accepted."
TOO_LATE = "Dated after the upload's time plus 2 days: a sale cannot postdate its upload."
NUL = "Holds a NUL character: binary data, not text."
TOO_LONG = "Longer than 500 characters."


def row(customer: str, when: str = "2011-01-01 10:00:00", description: str = "MUG") -> str:
    return f"536365,85123A,{description},6,{when},2.55,{customer},United Kingdom\n"


@dataclass(frozen=True)
class BadFile:
    """A file and its expected end: refused whole (`refused`, a message that starts so) or
    imported with these rejected rows (line number, column, message) and the rest stored."""

    name: str
    data: bytes
    refused: str = ""
    rejected: list[tuple[int, str, str]] = field(default_factory=list)
    settings: dict = field(default_factory=dict)


def nul_after_the_first_block() -> BadFile:
    rows = "".join(row(f"c{i}") for i in range(6000))
    assert len(HEADER + rows) > SAMPLE_BYTES
    data = (HEADER + rows + row("nul", description="a\x00b")).encode()
    return BadFile("nul-after-256k.csv", data, rejected=[(6002, "Description", NUL)])


def out_of_range_years() -> BadFile:
    whens = ["0001-01-01", "1677-09-21 00:12:43", "2262-04-11 23:47:16", "9999-12-31 23:59:59"]
    rows = row("ok-1") + "".join(row(f"y{i}", when) for i, when in enumerate(whens)) + row("ok-2")
    expected = [TOO_EARLY, TOO_EARLY, TOO_LATE, TOO_LATE]
    return BadFile(
        "mixed-years.csv",
        (HEADER + rows).encode(),
        rejected=[(3 + i, "InvoiceDate", m) for i, m in enumerate(expected)],
    )


def first_row_past_the_sample(*, gzipped: bool = False, line_limit: int | None = None) -> BadFile:
    text = HEADER + row("huge", description="X" * 300_000) + row("c1")
    data = gzip.compress(text.encode()) if gzipped else text.encode()
    if line_limit is None:  # the default limit, 128 KiB, is below the sample
        refused = "Line 2 is longer than 128 KiB, the longest line accepted"
        settings = {}
    else:  # a site that allows longer lines than the part read to check the file
        refused = "Line 2 does not fit in the file's first 256 KiB"
        settings = {"IMPORT_MAX_LINE_BYTES": line_limit}
    name = "first-row-300k.csv" + (".gz" if gzipped else "")
    return BadFile(name, data, refused=refused, settings=settings)


def descriptions_past_the_cap() -> BadFile:
    rows = (
        row("ok-1")
        + row("long", description="D" * 501)
        + row("very-long", description="D" * 100_000)
        + row("ok-2", description="D" * 500)
    )
    return BadFile(
        "long-descriptions.csv",
        (HEADER + rows).encode(),
        rejected=[(3, "Description", TOO_LONG), (4, "Description", TOO_LONG)],
    )


CORPUS = {
    "nul after the first 256 KB": nul_after_the_first_block,
    "years 0001, 1677, 2262, 9999 among valid rows": out_of_range_years,
    "a first data row over 256 KB": first_row_past_the_sample,
    "a first data row over 256 KB, gzip": lambda: first_row_past_the_sample(gzipped=True),
    "a first data row over 256 KB, longer lines allowed": lambda: first_row_past_the_sample(
        line_limit=1024 * 1024
    ),
    "descriptions over the cap": descriptions_past_the_cap,
}
