"""Rows in PostgreSQL's binary COPY format, built column by column with numpy and pyarrow.

The server reads binary COPY faster than CSV (no text to parse into numerics and timestamps),
and building it here costs less than writing CSV; pgpq, the library for Arrow to binary COPY,
has no encoder for numeric or uuid (docs/performance.md).

Each column is (kind, values): "int8" (integers), "bool", "uuid" (16-byte digests, an (n, 16)
uint8 array), "timestamptz" (microseconds since 1970-01-01 UTC, int64), ("numeric", scale)
(floats already rounded to that scale; NaN is NULL), "float8" and "int2" (or ("float8",) and
("int2",), where NaN is NULL) and "text" (a pyarrow string array; null is NULL). Fixed-width
fields are packed into one numpy record per row; each text field is joined on with its
length, by pyarrow, so no Python code runs per row.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
TRAILER = (-1).to_bytes(2, "big", signed=True)
NULL = (-1).to_bytes(4, "big", signed=True)
# Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 UTC).
PG_EPOCH_US = 946_684_800 * 1_000_000
# A numeric is sent as 5 base-10000 digits, 4 before the point and 1 after: enough for any
# value whose scaled integer a float holds exactly (below 2**53), which every value of the
# line table's columns is (below 10**10, or 10**14 for amounts, which are checked).
NUMERIC_GROUPS = 5
NUMERIC_WEIGHT = 3
NUMERIC_NEG = 0x4000


class NotEncodable(ValueError):
    """A value this encoder cannot write exactly (send the rows as CSV instead)."""


def numeric_fits(values: np.ndarray, scale: int) -> bool:
    """Whether every value's scaled integer is exact in a float (and so in the encoding)."""
    finite = values[~np.isnan(values)]
    return not finite.size or bool(np.abs(finite).max() * 10**scale < 2**53)


def _fixed(name: str, kind, values) -> tuple[list[tuple], dict[str, object]]:
    """The record fields of one fixed-width column and what to put in them."""
    length = f"{name}_len"
    if kind in ("int8", "timestamptz"):
        if kind == "timestamptz":
            values = np.asarray(values, dtype=np.int64) - PG_EPOCH_US
        return [(length, ">i4"), (name, ">i8")], {length: 8, name: values}
    if kind == "bool":
        return [(length, ">i4"), (name, "u1")], {length: 1, name: values}
    if kind == "uuid":
        return [(length, ">i4"), (name, "u1", (16,))], {length: 16, name: values}
    if isinstance(kind, tuple) and kind[0] == "numeric":
        return _numeric(name, np.asarray(values, dtype=float), kind[1])
    # double precision and smallint; as a 1-tuple, NaN is NULL (see encode)
    if kind in ("float8", ("float8",)):
        return [(length, ">i4"), (name, ">f8")], {length: 8, name: np.asarray(values, float)}
    if kind in ("int2", ("int2",)):
        small = np.nan_to_num(np.asarray(values, dtype=float)).astype(np.int16)
        return [(length, ">i4"), (name, ">i2")], {length: 2, name: small}
    raise ValueError(f"unknown column kind {kind!r}")


def _numeric(name: str, values: np.ndarray, scale: int) -> tuple[list[tuple], dict]:
    """PostgreSQL's numeric wire form: ndigits, weight, sign, dscale, then base-10000
    digits, here always NUMERIC_GROUPS of them (the server strips the zeros)."""
    if not numeric_fits(values, scale):
        raise NotEncodable(f"{name}: a value too large to encode exactly")
    null = np.isnan(values)
    scaled = np.rint(np.abs(np.where(null, 0.0, values)) * 10**scale).astype(np.int64)
    whole, fraction = np.divmod(scaled, 10**scale)
    digits = np.empty((len(values), NUMERIC_GROUPS), dtype=np.int64)
    for i in range(NUMERIC_GROUPS - 2, -1, -1):
        whole, digits[:, i] = np.divmod(whole, 10_000)
    digits[:, -1] = fraction * 10 ** (4 - scale)
    fields = [
        (f"{name}_len", ">i4"),
        (f"{name}_ndigits", ">i2"),
        (f"{name}_weight", ">i2"),
        (f"{name}_sign", ">u2"),
        (f"{name}_dscale", ">i2"),
        (f"{name}_digits", ">i2", (NUMERIC_GROUPS,)),
    ]
    return fields, {
        f"{name}_len": 8 + 2 * NUMERIC_GROUPS,
        f"{name}_ndigits": NUMERIC_GROUPS,
        f"{name}_weight": NUMERIC_WEIGHT,
        f"{name}_sign": np.where(values < 0, NUMERIC_NEG, 0),
        f"{name}_dscale": scale,
        f"{name}_digits": digits,
    }


def _record(fields: list[tuple], values: dict, rows: int) -> pa.Array:
    """One binary value per row: the packed record of the fields."""
    record = np.empty(rows, dtype=np.dtype(fields))
    # The fields that are the same on every row (lengths, counts, a numeric's header) are
    # set on one record, copied to all at once; then the others, a field at a time.
    template = np.zeros(1, dtype=record.dtype)
    for name, value in values.items():
        if not np.ndim(value):
            template[name] = value
    record.view(np.uint8).reshape(rows, record.dtype.itemsize)[:] = template.view(np.uint8)
    for name, value in values.items():
        if np.ndim(value):
            record[name] = value
    width = record.dtype.itemsize
    offsets = np.arange(0, (rows + 1) * width, width, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.binary(), rows, [None, pa.py_buffer(offsets), pa.py_buffer(record)]
    )


def _text(values) -> tuple[np.ndarray, pa.Array]:
    """The field lengths (-1 for NULL) and the bytes of a text column."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    values = values.cast(pa.binary())
    lengths = pc.fill_null(pc.binary_length(values), -1).to_numpy()
    return lengths, pc.fill_null(values, b"")


def encode(columns: list[tuple[str, object, object]], rows: int) -> Stream:
    """A whole binary COPY stream (header, rows, trailer) of the columns, each given as
    (name, kind, values), in the COPY's column order."""
    return Stream([HEADER, _body(columns, rows), TRAILER])


#: Rows encode_in_chunks encodes at a time (about 20 MB of a run's assignment rows).
CHUNK_ROWS = 100_000


def encode_in_chunks(
    columns: list[tuple[str, object, object]], rows: int, chunk_rows: int | None = None
) -> Stream:
    """encode's stream, each chunk of rows encoded when the server has read the one before:
    a million assignment rows encoded at once held 500 MB more than the run's frames
    (docs/scaling.md), and a body over 2 GB would not fit one pyarrow binary array."""
    chunk_rows = chunk_rows or CHUNK_ROWS

    def pieces() -> Iterator[memoryview | bytes]:
        yield HEADER
        for start in range(0, rows, chunk_rows):
            n = min(chunk_rows, rows - start)
            yield _body([(name, kind, _rows(data, start, n)) for name, kind, data in columns], n)
        yield TRAILER

    return Stream(pieces())


def _rows(data, start: int, n: int):
    if isinstance(data, pa.Array | pa.ChunkedArray):
        return data.slice(start, n)
    return data[start : start + n]


def _body(columns: list[tuple[str, object, object]], rows: int) -> memoryview:
    """The rows of the columns in binary COPY form, without the header and trailer."""
    parts: list[pa.Array] = []
    fields: list[tuple] = [("count", ">i2")]
    values: dict[str, object] = {"count": len(columns)}
    for name, kind, data in columns:
        null = np.isnan(np.asarray(data, dtype=float)) if isinstance(kind, tuple) else None
        if kind == "text":
            lengths, text = _text(data)
            fields.append((f"{name}_len", ">i4"))
            values[f"{name}_len"] = lengths
            parts += [_record(fields, values, rows), text]
            fields, values = [], {}
        elif null is not None and null.any():
            # A NULL is its length, -1, alone: this column is a part of its own, whose
            # NULL rows are replaced.
            if fields:
                parts.append(_record(fields, values, rows))
            numeric = _record(*_fixed(name, kind, data), rows)
            parts.append(pc.if_else(pa.array(null), pa.scalar(NULL, pa.binary()), numeric))
            fields, values = [], {}
        else:
            more_fields, more_values = _fixed(name, kind, data)
            fields += more_fields
            values.update(more_values)
    if fields:
        parts.append(_record(fields, values, rows))
    joined = pc.binary_join_element_wise(*parts, b"") if len(parts) > 1 else parts[0]
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32)
    start, end = int(offsets[joined.offset]), int(offsets[joined.offset + rows])
    return memoryview(joined.buffers()[2])[start:end]


class Stream(io.RawIOBase):
    """A file over the pieces without joining them: read(n) copies n bytes once (a BytesIO
    of the whole body would copy it twice more). The pieces may be an iterator, taken one
    at a time as they are read."""

    def __init__(self, pieces: Iterable[memoryview | bytes]):
        super().__init__()
        self._pieces = iter(pieces)
        self._piece = memoryview(b"")
        self._at = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        out = []
        while size:
            if self._at == len(self._piece):
                following = next(self._pieces, None)
                if following is None:
                    break
                self._piece, self._at = memoryview(following), 0
                continue
            end = len(self._piece) if size < 0 else min(len(self._piece), self._at + size)
            out.append(self._piece[self._at : end])
            if size > 0:
                size -= end - self._at
            self._at = end
        return b"".join(out)
