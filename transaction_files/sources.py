"""Open an uploaded file whatever its format, and stream its rows in chunks of text.

The format is told by the first bytes, never the extension: gzip (1f 8b), XLSX (a zip
holding xl/workbook.xml), otherwise delimited text. Text is read as UTF-8 (with or without
BOM) and, failing that, as Windows-1252 (what Excel saves a CSV as in Western locales; Latin-1
but for €, curly quotes and dashes) with a notice.

Every file is read within FileLimits (inflated size, inflate ratio, line length, columns,
rows), each refused with its message before memory grows; workbooks are parsed with
defusedxml's guards (openpyxl uses it when installed), so entity declarations are refused.
"""

from __future__ import annotations

import codecs
import csv
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from isal import isal_zlib

from .code_pages import (
    DEFAULT_CODE_PAGE,
    code_page_label,
    garbled_notice,
    garbled_words,
    not_decodable_message,
)
from .errors import ImportFileError

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls
SAMPLE_BYTES = 256 * 1024
CSV_BLOCK_BYTES = 8 * 1024 * 1024
XLSX_CHUNK_ROWS = 50_000
DELIMITERS = [",", ";", "\t", "|"]
# C0 controls other than tab/newline/CR: text exports never contain them, binary files do.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# After the fallback, C1 controls mean the bytes were not Windows-1252 text either: the
# five bytes it leaves undefined are read as Latin-1's C1 controls, so they are found too.
LATIN1_CONTROL_PATTERN = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
#: The encoding a file that is not UTF-8 is read in (registered below for pyarrow's reader).
FALLBACK_ENCODING = "windows_1252_or_latin_1"
NOT_TEXT_MESSAGE = not_decodable_message(DEFAULT_CODE_PAGE)


def not_utf8_notice(code_page: str) -> str:
    return (
        f"The file is not valid UTF-8; it was read as {code_page_label(code_page)}, this "
        "workspace's code page, as Excel on Windows saves CSV files."
    )


def _as_latin1(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)  # registered for decoding only
    return error.object[error.start : error.end].decode("latin-1"), error.end


class _Windows1252Decoder(codecs.IncrementalDecoder):
    def decode(self, input: Any, final: bool = False) -> str:  # input: any bytes-like
        return bytes(input).decode("cp1252", errors="as_latin1")


def _find_codec(name: str) -> codecs.CodecInfo | None:
    if name.replace("-", "_") != FALLBACK_ENCODING:
        return None
    cp1252 = codecs.lookup("cp1252")
    return codecs.CodecInfo(
        name=FALLBACK_ENCODING,
        encode=cp1252.encode,
        decode=lambda data, errors="strict": (
            bytes(data).decode("cp1252", errors="as_latin1"),
            len(data),
        ),
        incrementaldecoder=_Windows1252Decoder,
    )


codecs.register_error("as_latin1", _as_latin1)
codecs.register(_find_codec)


def _python_encoding(code_page: str) -> str:
    # Windows-1252 reads its five undefined bytes as Latin-1 would (C1 controls, refused
    # as not text: check_latin1_text); other code pages refuse theirs as they decode.
    return FALLBACK_ENCODING if code_page == DEFAULT_CODE_PAGE else code_page


def fall_back_from_utf8(info: SourceInfo) -> str:
    """Read `info`'s file in the workspace's code page from now on (its UTF-8 broke past
    the first block); the notice that says so."""
    info.encoding = _python_encoding(info.code_page)
    return not_utf8_notice(info.code_page)


GIB = 1024**3
# The compressed bytes a ratio is measured against at least: a bomb's first block already
# exceeds it, a small ordinary file never does.
RATIO_FLOOR_BYTES = 64 * 1024
READ_BYTES = 64 * 1024


@dataclass(frozen=True)
class FileLimits:
    """How far a file may go; the apps set them from their settings (configure_limits)."""

    max_inflated_bytes: int = 2 * GIB  # gzip text, or all the parts of a workbook
    max_inflate_ratio: float = 100.0  # inflated bytes per compressed byte
    max_line_bytes: int = 128 * 1024
    max_columns: int = 1000
    max_rows: int = 50_000_000  # lines after the header, blank ones included

    @classmethod
    def from_settings(cls, settings: Any) -> FileLimits:
        """From IMPORT_MAX_INFLATED_BYTES, ... on any object holding them."""
        return cls(
            max_inflated_bytes=settings.IMPORT_MAX_INFLATED_BYTES,
            max_inflate_ratio=settings.IMPORT_MAX_INFLATE_RATIO,
            max_line_bytes=settings.IMPORT_MAX_LINE_BYTES,
            max_columns=settings.IMPORT_MAX_COLUMNS,
            max_rows=settings.IMPORT_MAX_ROWS,
        )


_limits_source: Callable[[], FileLimits] = FileLimits


def configure_limits(source: Callable[[], FileLimits]) -> None:
    """Where inspect_source takes its limits when given none (called at each inspection,
    so settings changed in tests apply)."""
    global _limits_source
    _limits_source = source


@dataclass
class Chunk:
    frame: pd.DataFrame  # the file's columns, values as text (None when empty)
    line_numbers: np.ndarray  # line in the file of each row (header = line 1)
    progress: float  # fraction of the file read so far


@dataclass
class BadRow:
    line_number: int
    text: str
    message: str


@dataclass
class SourceInfo:
    kind: str  # "csv" | "gzip" | "xlsx"
    columns: list[str]
    encoding: str = "utf-8"
    delimiter: str = ","
    sheet: str = ""
    notices: list[str] = field(default_factory=list)
    limits: FileLimits = field(default_factory=FileLimits)
    # The header's line (a sheet's row), after any lines of a report's title above it.
    header_line: int = 1
    # What a file that is not UTF-8 is read as (code_pages.CODE_PAGES): the workspace's.
    code_page: str = DEFAULT_CODE_PAGE


def _head(path: Path, n: int = 8) -> bytes:
    with open(path, "rb") as f:
        return f.read(n)


def _text_sample(path: Path, kind: str) -> bytes:
    if kind == "gzip":
        stream = pa.CompressedInputStream(pa.OSFile(str(path)), "gzip")
        try:
            return stream.read(SAMPLE_BYTES)
        except (OSError, pa.ArrowException) as exc:
            raise ImportFileError(
                "The gzip file is damaged or truncated: it cannot be decompressed."
            ) from exc
    with open(path, "rb") as f:
        return f.read(SAMPLE_BYTES)


def _decode_sample(sample: bytes, code_page: str = DEFAULT_CODE_PAGE) -> tuple[str, str]:
    """(text, encoding) of the sample, UTF-8 or else `code_page`; raise when it is not text
    at all."""
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFileError("The file is UTF-16 text; please save it as UTF-8 CSV.")
    if b"\x00" in sample:
        raise ImportFileError(
            "This is not a CSV or Excel file: it contains binary data. "
            "Upload a CSV (optionally gzip-compressed) or an .xlsx workbook."
        )
    # Cut at the last line break so a multi-byte character is never split.
    cut = sample.rfind(b"\n")
    body = sample if cut < 0 or len(sample) < SAMPLE_BYTES else sample[: cut + 1]
    try:
        text, encoding = body.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        encoding = _python_encoding(code_page)
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError:
            raise ImportFileError(not_decodable_message(code_page)) from None
        if encoding == FALLBACK_ENCODING and re.search(LATIN1_CONTROL_PATTERN, text):
            raise ImportFileError(not_decodable_message(code_page)) from None
    if _CONTROL.search(text):
        raise ImportFileError(
            "This is not a CSV or Excel file: it contains binary data. "
            "Upload a CSV (optionally gzip-compressed) or an .xlsx workbook."
        )
    return text, encoding


def _line_past_sample(sample: bytes, number: int, limits: FileLimits) -> ImportFileError:
    """The sample read to check a file ends inside its header or first row (``number``):
    the error that says so, instead of "no rows" or a cut header."""
    seen = len(sample) - (sample.rfind(b"\n") + 1)  # the line's bytes inside the sample
    if seen > limits.max_line_bytes:
        return ImportFileError(
            f"Line {number} is longer than {_mib(limits.max_line_bytes)}, the longest "
            "line accepted: this is not a transaction file. Nothing was imported."
        )
    return ImportFileError(
        f"Line {number} does not fit in the file's first {_mib(SAMPLE_BYTES)}, which are "
        "read to check its header and first row: a transaction file's lines are far "
        "shorter. Nothing was imported."
    )


#: How far down a report's title, shop and period may push the header.
HEADER_SEARCH_LINES = 30


def _filled(fields: list[Any]) -> int:
    return sum(1 for v in fields if v is not None and str(v).strip())


def _header_index(rows: list[list[Any]]) -> int:
    """The header among a file's first rows: the first with three names or more (a customer,
    a date and an amount at least), where a report's title, shop and period above it fill
    two fields at most, blank lines none. 0 when no row has three."""
    for i, fields in enumerate(rows[:HEADER_SEARCH_LINES]):
        if _filled(fields) >= 3:
            return i
    return 0


def distinct_names(header: list[Any]) -> list[str]:
    """The header's names as the mapping offers them: an empty one is "Column 4", a
    repeated one "Date (2)", so each column can be chosen (the first "Date" keeps its name)."""
    names: list[str] = []
    for i, value in enumerate(header):
        name = str(value).strip() if value is not None else ""
        name = name or f"Column {i + 1}"
        base, n = name, 1
        while name in names:
            n += 1
            name = f"{base} ({n})"
        names.append(name)
    return names


def above_header_notice(header_line: int, title: str) -> str:
    """What the import says of the lines it skipped above the header."""
    lines = "Line 1 was" if header_line == 2 else f"Lines 1 to {header_line - 1} were"
    shown = f" (“{title[:60]}”)" if title else ""
    return (
        f"{lines} skipped{shown}: the header is on line {header_line}, under a title as "
        "reports put one."
    )


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def source_kind(path: Path, *, limits: FileLimits | None = None) -> str:
    """The file's kind ("xlsx", "gzip" or "csv") from its first bytes, after the checks that
    parse nothing: ImportFileError for an empty file, an old .xls, or a zip that is no
    workbook or whose parts inflate past the limits. Cheap enough for a web request: no XML
    is opened."""
    path = Path(path)
    limits = limits or _limits_source()
    if path.stat().st_size == 0:
        raise ImportFileError("The file is empty.")
    head = _head(path)
    if head.startswith(ZIP_MAGIC):
        check_workbook_zip(path, limits)
        return "xlsx"
    if head.startswith(OLE_MAGIC):
        raise ImportFileError(
            "This is an old-style .xls workbook; save it as .xlsx or CSV and upload it again."
        )
    return "gzip" if head.startswith(GZIP_MAGIC) else "csv"


def inspect_source(
    path: Path,
    *,
    sheet: str = "",
    limits: FileLimits | None = None,
    code_page: str = DEFAULT_CODE_PAGE,
) -> SourceInfo:
    """Format, encoding, delimiter and header of a file; ImportFileError when unreadable.
    A text file that is not UTF-8 is read in `code_page` (the workspace's).

    `limits` (default: those configure_limits gave) travel with the result to iter_chunks.
    A workbook is opened here (its XML parsed): the web request calls source_kind only.
    """
    path = Path(path)
    limits = limits or _limits_source()
    kind = source_kind(path, limits=limits)
    if kind == "xlsx":
        info = _inspect_xlsx(path, sheet=sheet, limits=limits)
        _check_columns(info.columns, limits)
        return info
    sample = _text_sample(path, kind)
    text, encoding = _decode_sample(sample, code_page)
    lines = text.splitlines()
    first = lines[:HEADER_SEARCH_LINES]
    at = _header_index(
        [next(csv.reader([line], delimiter=_sniff_delimiter(line)), []) for line in first]
    )
    for number, line in enumerate(lines[: at + 2], start=1):
        if len(line.encode(encoding, "replace")) > limits.max_line_bytes:
            raise ImportFileError(
                f"Line {number} is longer than {_mib(limits.max_line_bytes)}, the longest "
                "line accepted: this is not a transaction file. Nothing was imported."
            )
    if not lines or not lines[at].strip():
        raise ImportFileError("The file is empty: there is no header line.")
    if len(sample) == SAMPLE_BYTES and (len(lines) < at + 2 or b"\n" not in sample):
        raise _line_past_sample(sample, at + 2 if b"\n" in sample else 1, limits)
    delimiter = _sniff_delimiter(lines[at])
    columns = distinct_names(next(csv.reader([lines[at]], delimiter=delimiter)))
    _check_columns(columns, limits)
    notices = []
    if encoding != "utf-8":
        notices.append(not_utf8_notice(code_page))
        if garbled := garbled_words(text, code_page):
            notices.append(garbled_notice(code_page, garbled))
    if at:
        title = next((line.strip(' ,;\t|"') for line in lines[:at] if line.strip()), "")
        notices.append(above_header_notice(at + 1, title))
    if not any(line.strip() for line in lines[at + 1 :]):
        raise ImportFileError("The file has a header line but no rows.")
    return SourceInfo(
        kind=kind,
        columns=columns,
        encoding=encoding,
        delimiter=delimiter,
        notices=notices,
        limits=limits,
        header_line=at + 1,
        code_page=code_page,
    )


def _check_columns(columns: list[str], limits: FileLimits) -> None:
    if len(columns) > limits.max_columns:
        raise ImportFileError(
            f"The header has {len(columns):,} columns; the most accepted is "
            f"{limits.max_columns:,}. Keep the transaction columns only."
        )


def _nonempty_sheets(workbook: Any) -> list[str]:
    names = []
    for ws in workbook.worksheets:
        for row in _guarded(ws.iter_rows(max_row=5, values_only=True)):
            if any(v not in (None, "") for v in row):
                names.append(ws.title)
                break
    return names


def check_workbook_zip(path: Path, limits: FileLimits) -> None:
    """Cheap checks of a workbook before any XML is parsed: a zip holding a workbook part,
    whose parts inflate within the limits. The sizes come from the zip's directory, and
    Python's zipfile never hands out more than a part's stated size, so they bound the
    XML that openpyxl can be given."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportFileError("This zip file is not a readable Excel workbook (.xlsx).") from exc
    if not any(p.filename == "xl/workbook.xml" for p in parts):
        raise ImportFileError(
            "This zip file is not an Excel workbook (.xlsx): it holds no workbook. "
            "Upload a CSV (optionally gzip-compressed) or an .xlsx workbook."
        )
    inflated = sum(p.file_size for p in parts)
    if inflated > limits.max_inflated_bytes:
        raise ImportFileError(
            f"The workbook inflates to {_mib(inflated)}; the most accepted is "
            f"{_mib(limits.max_inflated_bytes)}. Save it as gzip-compressed CSV, or split it."
        )
    if inflated > limits.max_inflate_ratio * max(path.stat().st_size, RATIO_FLOOR_BYTES):
        raise ImportFileError(
            f"The workbook inflates more than {limits.max_inflate_ratio:g} times its size, "
            "which no transaction workbook does (a compression bomb, or a sheet padded "
            "with blank cells or spaces). Nothing was imported."
        )


def _open_workbook(path: Path, limits: FileLimits) -> Any:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    check_workbook_zip(path, limits)
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise _workbook_error(exc) from exc


def _workbook_error(exc: BaseException) -> ImportFileError:
    from defusedxml import DefusedXmlException  # type: ignore[import-untyped]

    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, DefusedXmlException):
        cause = cause.__cause__ or cause.__context__
    if cause is not None:
        return ImportFileError(
            "The workbook declares XML entities (or external references), which a workbook "
            "saved by a spreadsheet never does; it was refused unread. Save it again from "
            "your spreadsheet as .xlsx or CSV."
        )
    return ImportFileError("This zip file is not a readable Excel workbook (.xlsx).")


def _inspect_xlsx(path: Path, *, sheet: str, limits: FileLimits) -> SourceInfo:
    workbook = _open_workbook(path, limits)
    try:
        sheets = _nonempty_sheets(workbook)
        if sheet:
            if sheet not in workbook.sheetnames:
                raise ImportFileError(
                    f"The workbook has no sheet named “{sheet}”; "
                    f"its sheets are: {', '.join(workbook.sheetnames)}."
                )
        elif not sheets:
            raise ImportFileError("The workbook is empty.")
        elif len(sheets) > 1:
            raise ImportFileError(
                f"The workbook has {len(sheets)} sheets with data ({', '.join(sheets)}); "
                "choose the sheet to import."
            )
        else:
            sheet = sheets[0]
        rows = _guarded(
            workbook[sheet].iter_rows(max_row=HEADER_SEARCH_LINES + 1, values_only=True)
        )
        first = [[_cell_text(v) for v in row or ()] for row in rows]
        at = _header_index(first)
        header = first[at] if first else None
        if not header or not any(header):
            raise ImportFileError(f"The sheet “{sheet}” has no header row.")
        if not any(any(row) for row in first[at + 1 :]):
            raise ImportFileError("The file has a header line but no rows.")
        columns = distinct_names(header)
    finally:
        workbook.close()
    notices = []
    if at:
        title = next((v for row in first[:at] for v in row if v), "")
        notices.append(above_header_notice(at + 1, title))
    return SourceInfo(
        kind="xlsx",
        columns=columns,
        sheet=sheet,
        limits=limits,
        header_line=at + 1,
        notices=notices,
    )


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
    return str(value)


class _Utf8Invalid(Exception):
    pass


def _mib(n: float) -> str:
    return f"{n / 1024**2:,.0f} MiB" if n >= 1024**2 else f"{n / 1024:,.0f} KiB"


class BoundedText:
    """The file's text (inflated when gzip), refused past the limits as it is read.

    pyarrow reads it through read(); each block is checked before pyarrow parses it, so a
    bomb is refused at its first block, not after its rows filled memory. The compressed
    bytes consumed are exact (the inflater's own input), so the ratio holds part-way.
    """

    def __init__(self, path: Path, *, gzip: bool, limits: FileLimits):
        self.raw = open(path, "rb")  # noqa: SIM115 (closed by close())
        self.limits = limits
        self.gzip = gzip
        self.inflated = 0
        self.lines = 0  # line breaks seen
        self._line_open = 0  # bytes of the line not ended yet
        self._consumed = 0
        self._inflater = isal_zlib.decompressobj(wbits=31) if gzip else None
        self._input = b""
        self.closed = False

    # -- the file interface pyarrow uses
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self.raw.tell()

    def close(self) -> None:
        self.closed = True
        self.raw.close()

    def read(self, n: int = -1) -> bytes:
        n = n if n is not None and n >= 0 else CSV_BLOCK_BYTES
        data = self._inflate(n) if self.gzip else self.raw.read(n)
        self.inflated += len(data)
        self._check(data)
        return data

    def _inflate(self, n: int) -> bytes:
        out: list[bytes] = []
        wanted = n
        assert self._inflater is not None
        while wanted > 0:
            if self._inflater.eof:
                rest = self._inflater.unused_data + self._input
                self._input = b""
                if not rest:
                    rest = self.raw.read(READ_BYTES)
                    if not rest:
                        break  # the last member ended with the file
                self._inflater = isal_zlib.decompressobj(wbits=31)  # the next member
                self._input = rest
            if not self._input:
                self._input = self.raw.read(READ_BYTES)
                if not self._input:
                    raise EOFError("the compressed data ends early")
            before = len(self._input)
            try:
                chunk = self._inflater.decompress(self._input, wanted)
            except isal_zlib.error as exc:  # type: ignore[misc]
                raise OSError(str(exc)) from exc
            self._input = self._inflater.unconsumed_tail
            self._consumed += before - len(self._input) - len(self._inflater.unused_data)
            out.append(chunk)
            wanted -= len(chunk)
            self._check_ratio(self.inflated + n - wanted)
        return b"".join(out)

    def _check_ratio(self, inflated: int) -> None:
        limits = self.limits
        if inflated > limits.max_inflated_bytes:
            raise ImportFileError(
                f"The compressed file inflates to more than {_mib(limits.max_inflated_bytes)}, "
                "the most accepted. Split it into smaller files. Nothing was imported."
            )
        if inflated > limits.max_inflate_ratio * max(self._consumed, RATIO_FLOOR_BYTES):
            raise ImportFileError(
                f"The compressed file inflates more than {limits.max_inflate_ratio:g} times "
                "its size, which no transaction file does (a compression bomb, or a file "
                "padded with blank lines or spaces). Nothing was imported."
            )

    def _check(self, data: bytes) -> None:
        """Line length and line count of the text read so far."""
        limits = self.limits
        if not data:
            return
        breaks = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
        if len(breaks):
            lengths = np.diff(breaks, prepend=-1) - 1
            lengths[0] += self._line_open
            longest = int(lengths.argmax())
            if lengths[longest] > limits.max_line_bytes:
                self._refuse_line(self.lines + longest + 1)
            self.lines += len(breaks)
            self._line_open = len(data) - int(breaks[-1]) - 1
        else:
            self._line_open += len(data)
        if self._line_open > limits.max_line_bytes:
            self._refuse_line(self.lines + 1)
        if self.lines > limits.max_rows + 1:
            raise ImportFileError(
                f"The file has more than {limits.max_rows:,} lines, the most accepted in "
                "one file. Split it into smaller files. Nothing was imported."
            )

    def _refuse_line(self, number: int) -> None:
        raise ImportFileError(
            f"Line {number:,} is longer than {_mib(self.limits.max_line_bytes)}, the longest "
            "line accepted: this is not a transaction file. Nothing was imported."
        )


def iter_chunks(
    path: Path,
    info: SourceInfo,
    *,
    columns: list[str],
    on_bad_row: Callable[[BadRow], None],
) -> Iterator[Chunk]:
    """Stream the chosen columns of the file in chunks; rows of the wrong width go to
    on_bad_row. Raises ImportFileError for damage found part-way (truncated gzip, ...)."""
    if info.kind == "xlsx":
        yield from _iter_xlsx(Path(path), info, columns=columns)
    else:
        yield from _iter_csv(Path(path), info, columns=columns, on_bad_row=on_bad_row)


def _iter_csv(
    path: Path,
    info: SourceInfo,
    *,
    columns: list[str],
    on_bad_row: Callable[[BadRow], None],
) -> Iterator[Chunk]:
    size = max(path.stat().st_size, 1)
    # ISA-L inflates faster than zlib, which pyarrow's own gzip stream uses.
    stream = BoundedText(path, gzip=info.kind == "gzip", limits=info.limits)
    raw = stream.raw
    blank_or_bad: list[int] = []  # line numbers of rows that produced no data row

    def handler(row: Any) -> str:
        if row.text.strip():
            on_bad_row(
                BadRow(
                    line_number=row.number,
                    text=row.text[:500],
                    message=(
                        f"Expected {row.expected_columns} columns, found {row.actual_columns}."
                    ),
                )
            )
        blank_or_bad.append(row.number)
        return "skip"

    read_options = pacsv.ReadOptions(
        use_threads=False,  # the serial reader reports line numbers of bad rows
        block_size=CSV_BLOCK_BYTES,
        encoding="utf8" if info.encoding == "utf-8" else info.encoding,
        column_names=info.columns,
        skip_rows=info.header_line,  # any title above the header, and the header
    )
    parse_options = pacsv.ParseOptions(
        delimiter=info.delimiter, ignore_empty_lines=False, invalid_row_handler=handler
    )
    convert_options = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in info.columns},
        include_columns=columns,
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        null_values=[""],
    )
    emitted = 0  # data rows (including blank ones) handed out so far
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=read_options,
            parse_options=parse_options,
            convert_options=convert_options,
        )
        for batch in reader:
            n = batch.num_rows
            if not n:
                continue
            index = np.arange(emitted, emitted + n, dtype=np.int64)
            emitted += n
            yield Chunk(
                frame=batch.to_pandas(),
                line_numbers=_line_numbers(index, blank_or_bad, info.header_line),
                progress=min(raw.tell() / size, 1.0),
            )
    except UnicodeDecodeError as exc:
        # Past the first block, bytes the workspace's code page does not define.
        raise ImportFileError(
            f"{not_decodable_message(info.code_page)} Nothing was imported."
        ) from exc
    except pa.ArrowInvalid as exc:
        text = str(exc)
        if "UTF8" in text or "UTF-8" in text:
            raise _Utf8Invalid(text) from exc
        if "Empty CSV" in text:
            raise ImportFileError("The file has a header line but no rows.") from exc
        raise ImportFileError(f"The file cannot be read as CSV: {text}") from exc
    except (OSError, EOFError, pa.ArrowException) as exc:
        raise ImportFileError(
            "The file is damaged or truncated (for a gzip file: the compressed data ends "
            "early). Nothing was imported."
        ) from exc
    finally:
        stream.close()


def _line_numbers(index: np.ndarray, skipped_lines: list[int], header_line: int = 1) -> np.ndarray:
    """Line numbers of data rows given their position among the rows the parser kept.

    Row i would sit on line i + header_line + 1 if no line had been skipped; each skipped
    line before it pushes it down one.
    """
    first = header_line + 1
    lines = index + first
    if not skipped_lines:
        return lines
    skipped = np.sort(np.asarray(skipped_lines, dtype=np.int64))
    # Kept rows before skipped line j: skipped[j] - first - j; rows at or after that
    # position come after the skipped line.
    thresholds = skipped - first - np.arange(len(skipped))
    return lines + np.searchsorted(thresholds, index, side="right")


def _iter_xlsx(path: Path, info: SourceInfo, *, columns: list[str]) -> Iterator[Chunk]:
    workbook = _open_workbook(path, info.limits)
    try:
        ws = workbook[info.sheet]
        positions = [info.columns.index(c) for c in columns]
        total = max((ws.max_row or 0) - info.header_line, 1)
        rows: list[list] = []
        lines: list[int] = []
        line = info.header_line
        for values in _guarded(ws.iter_rows(min_row=info.header_line + 1, values_only=True)):
            line += 1
            if line > info.limits.max_rows + info.header_line:
                raise ImportFileError(
                    f"The sheet has more than {info.limits.max_rows:,} rows, the most "
                    "accepted in one file. Split it into smaller files. Nothing was imported."
                )
            if not values or all(v in (None, "") for v in values):
                continue
            rows.append([_cell_text(values[p]) if p < len(values) else None for p in positions])
            lines.append(line)
            if len(rows) >= XLSX_CHUNK_ROWS:
                progress = min((line - info.header_line) / total, 1.0)
                yield _xlsx_chunk(rows, lines, columns, progress)
                rows, lines = [], []
        if rows:
            yield _xlsx_chunk(rows, lines, columns, 1.0)
    finally:
        workbook.close()


def _guarded(rows: Iterator[Any]) -> Iterator[Any]:
    """The sheet's rows; XML the parser refuses (entities, ...) as the file's error."""
    try:
        yield from rows
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, SyntaxError) as exc:
        raise _workbook_error(exc) from exc


def _xlsx_chunk(rows: list[list], lines: list[int], columns: list[str], progress: float) -> Chunk:
    frame = pd.DataFrame(rows, columns=columns, dtype="str")
    frame = frame.astype(object).where(frame.notna(), None)
    return Chunk(frame=frame, line_numbers=np.asarray(lines, dtype=np.int64), progress=progress)


def check_latin1_text(frame: pd.DataFrame) -> bool:
    """True when no cell holds control characters (text read as Windows-1252 that was
    not)."""
    for name in frame.columns:
        col = frame[name].dropna()
        if len(col) and col.astype(str).str.contains(LATIN1_CONTROL_PATTERN, regex=True).any():
            return False
    return True


Utf8Invalid = _Utf8Invalid
__all__ = [
    "FALLBACK_ENCODING",
    "NOT_TEXT_MESSAGE",
    "BadRow",
    "Chunk",
    "SourceInfo",
    "Utf8Invalid",
    "check_latin1_text",
    "fall_back_from_utf8",
    "inspect_source",
    "iter_chunks",
    "source_kind",
]
