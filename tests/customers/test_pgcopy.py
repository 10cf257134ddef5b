"""PostgreSQL's binary COPY format as pgcopy writes it: the server must read back exactly
what a CSV COPY of the same values gives, edge values included (the round trips need
PostgreSQL; CI runs them, SQLite skips them)."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from django.db import connection

from customers.importing import pgcopy
from customers.models import ImportRecord, TransactionLine
from tests.conftest import require

from .conftest import ONLINE_RETAIL_SLICE, import_path
from .test_bad_files import HEADER, import_or_error, write

COLUMNS = (
    "id bigint, quantity numeric(14,3), unit_price numeric(16,4), ts timestamptz, "
    "flag boolean, digest uuid, invoice varchar(64), description text"
)


def edge_values() -> tuple[list, int]:
    quantity = [6.0, -1.0, 0.0, -0.0, 0.001, -0.001, 9_999_999_999.999, 123_456.789, 7e-3, 1.5]
    price = [2.55, np.nan, 0.0, 0.0001, -0.0001, 9_999_999_999.9999, np.nan, 3.3333, 0.5, 1e9]
    n = len(quantity)
    # Microseconds since 1970 (UTC): the epoch, before it, PostgreSQL's epoch, 1900, a DST day.
    times = [0, -1, 946_684_800_000_000, -2_208_988_800_000_000, 1_301_187_600_000_000]
    times += [1_291_191_960_000_000 + i for i in range(n - len(times))]
    text = ["a", "", None, "£ héllo ☃", "x" * 64, "tab\there", 'q"uote,', "new\nline", "\\", "é"]
    digests = b"".join(hashlib.md5(str(i).encode()).digest() for i in range(n))  # noqa: S324
    columns = [
        ("id", "int8", np.arange(n, dtype=np.int64) * 1_000_003),
        ("quantity", ("numeric", 3), np.array(quantity)),
        ("unit_price", ("numeric", 4), np.array(price)),
        ("ts", "timestamptz", np.array(times, dtype=np.int64)),
        ("flag", "bool", np.array([True, False] * (n // 2))),
        ("digest", "uuid", np.frombuffer(digests, dtype=np.uint8).reshape(n, 16)),
        ("invoice", "text", pa.array(text)),
        ("description", "text", pa.array(text[::-1])),
    ]
    return columns, n


def as_csv(columns, n) -> io.BytesIO:
    """The same values as CSV, as the import wrote them before binary COPY."""
    arrays = {}
    for name, kind, values in columns:
        if kind == "timestamptz":
            values = pa.array(values, type=pa.timestamp("us"))
        elif kind == "uuid":
            values = pa.array([bytes(d).hex() for d in values])
        elif not isinstance(values, pa.Array):
            values = pa.array(values, from_pandas=True)
        arrays[name] = values
    buffer = io.BytesIO()
    pacsv.write_csv(
        pa.table(arrays), buffer, write_options=pacsv.WriteOptions(include_header=False)
    )
    buffer.seek(0)
    return buffer


@pytest.fixture
def cursor(db):
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL TimeZone = 'UTC'")
        yield cursor.cursor


def copied(cursor, table: str, stream, copy_format: str) -> list[tuple]:
    cursor.execute(f"CREATE TEMPORARY TABLE {table} ({COLUMNS})")
    cursor.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT {copy_format})", stream)
    cursor.execute(f"SELECT * FROM {table} ORDER BY id")  # noqa: S608 (the test's table)
    return cursor.fetchall()


def test_binary_copy_reads_back_as_the_csv_copy_of_the_same_values(cursor):
    columns, n = edge_values()

    binary = copied(cursor, "binary_rows", pgcopy.encode(columns, n), "binary")
    text = copied(cursor, "csv_rows", as_csv(columns, n), "csv")

    assert binary == text
    assert len(binary) == n
    # Spot checks that the comparison itself sees the values.
    assert str(binary[6][1]) == "9999999999.999" and binary[1][2] is None
    assert binary[3][6] == "£ héllo ☃" and binary[1][6] == "" and binary[2][6] is None


def test_binary_copy_of_a_value_too_long_for_its_column_fails_as_csv_does(cursor):
    columns = [("id", "int8", np.array([1])), ("invoice", "text", pa.array(["x" * 65]))]
    cursor.execute("CREATE TEMPORARY TABLE narrow (id bigint, invoice varchar(64))")
    with pytest.raises(Exception, match="too long for type character varying"):
        cursor.copy_expert("COPY narrow FROM STDIN WITH (FORMAT binary)", pgcopy.encode(columns, 1))


@pytest.mark.parametrize("chunk_rows", [1, 3, 9, 10, 11])
def test_a_stream_encoded_in_chunks_is_the_whole_encoding(chunk_rows):
    columns, n = edge_values()
    whole = pgcopy.encode(columns, n).read()
    chunked = pgcopy.encode_in_chunks(columns, n, chunk_rows)
    blocks = []
    while block := chunked.read(7):
        blocks.append(block)
    assert b"".join(blocks) == whole
    assert whole.startswith(pgcopy.HEADER) and len(whole) > 10 * n


def test_no_rows_in_chunks_is_a_header_and_a_trailer():
    columns = [
        ("id", "int8", np.array([], dtype=np.int64)),
        ("t", "text", pa.array([], pa.string())),
    ]
    assert pgcopy.encode_in_chunks(columns, 0).read() == pgcopy.HEADER + pgcopy.TRAILER


def test_chunks_are_encoded_as_the_server_reads_them(monkeypatch):
    """One chunk's encoding in memory at a time: the next is built only once read up to."""
    built = []
    body = pgcopy._body
    monkeypatch.setattr(
        pgcopy, "_body", lambda columns, rows: built.append(rows) or body(columns, rows)
    )
    columns, n = edge_values()
    stream = pgcopy.encode_in_chunks(columns, n, 4)
    assert built == []
    stream.read(len(pgcopy.HEADER) + 1)
    assert built == [4]
    stream.read()
    assert built == [4, 4, 2]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 100, -1])
def test_stream_reads_the_pieces_in_order_in_blocks_of_the_size_asked(size):
    pieces = [b"abc", b"", b"defghij", b"k"]
    stream = pgcopy.Stream(iter(pieces) if size == 2 else pieces)
    blocks = []
    while block := stream.read(size):
        blocks.append(block)
    assert b"".join(blocks) == b"abcdefghijk"
    if size > 0:
        assert all(len(block) == size for block in blocks[:-1])
    else:
        assert len(blocks) == 1


def test_numbers_beyond_exact_float_range_are_not_encoded():
    assert pgcopy.numeric_fits(np.array([9_999_999_999.9999, np.nan]), 4)
    assert not pgcopy.numeric_fits(np.array([1.0, 1e13]), 4)
    with pytest.raises(pgcopy.NotEncodable):
        pgcopy.encode([("amount", ("numeric", 4), np.array([1e13]))], 1)


@pytest.fixture
def copy_formats(monkeypatch, settings, cursor):
    """The COPY format of each chunk a bulk load sends (the line table is empty)."""
    from customers.importing.bulk_load import BulkLoad

    settings.IMPORT_BULK_LOAD_EMPTY_TABLE = True
    formats = []
    payload = BulkLoad._copy_payload

    def spy(self, values, rows):
        result = payload(self, values, rows)
        formats.append(result[1])
        return result

    monkeypatch.setattr(BulkLoad, "_copy_payload", spy)
    return formats


def test_a_bulk_load_sends_its_lines_as_binary(copy_formats):
    record = import_path(ONLINE_RETAIL_SLICE)

    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert copy_formats and set(copy_formats) == {"binary"}
    assert TransactionLine.unscoped.count() == record.rows_imported > 0


def test_a_bulk_load_chunk_too_large_for_binary_goes_as_csv(tmp_path, copy_formats, settings):
    # 1e9 x 10,000: an amount of 10^13, which a float holds, but not to 4 decimals exactly
    # (far beyond the default bounds, which a shop may raise up to what the columns hold).
    settings.IMPORT_MAX_QUANTITY, settings.IMPORT_MAX_AMOUNT = 1e10, 9e13
    big = "536365,85123A,GOLD,1000000000,2010-12-01 08:26:00,10000,17850,United Kingdom\n"
    small = "536366,85123B,TIN,2,2010-12-01 08:27:00,1.25,17851,United Kingdom\n"
    record, error = import_or_error(write(tmp_path, "big.csv", (HEADER + big + small).encode()))

    assert record.status == ImportRecord.Status.SUCCEEDED, error
    assert copy_formats == ["csv"]
    amounts = dict(TransactionLine.unscoped.values_list("invoice", "amount"))
    assert str(amounts["536365"]) == "10000000000000.0000"
    assert str(amounts["536366"]) == "2.5000"
