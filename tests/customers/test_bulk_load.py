"""The line hash's definition, the seen-hash set, and PostgreSQL's bulk load of the first
lines into an empty line table (indexes dropped, lines COPYed in as the file is read,
indexes rebuilt, all in the import's transaction). The bulk-load tests need PostgreSQL (CI
runs them; skipped on SQLite)."""

from __future__ import annotations

import gzip
import hashlib
import logging
import multiprocessing
import uuid
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import psycopg2
import pyarrow as pa
import pytest
from django.db import IntegrityError, connection, transaction

from customers.importing import bulk_load as bulk_loading
from customers.importing import progress
from customers.importing.bulk_load import BulkLoad
from customers.importing.dedupe import SeenHashes
from customers.models import Customer, ImportRecord, TransactionLine
from tests import shops
from tests.conftest import require
from tests.scratch_db import postgres_params
from transaction_files import normalise, sources

from .conftest import CDNOW_SLICE, ONLINE_RETAIL_SLICE, import_path, lines_checksum


def test_line_hash_is_md5_of_the_documented_content():
    lines = pd.DataFrame(
        {
            "customer_ext": ["12345", "17850"],
            "invoice": ["536365", "C536379"],
            "product_code": ["85123A", ""],
            "description": ["WHITE HANGING £ HEART", "Discount"],
            "quantity": [6.0, -1.0],
            "unit_price": [2.55, np.nan],
            "amount": [round(6 * 2.55, 4), -27.5],
            "ts": pd.to_datetime(["2010-12-01 08:26:00", "2011-07-01 09:41:00"]).tz_localize(
                "Europe/London"
            ),
            "country": ["United Kingdom", "France"],
        }
    )
    expected = [
        "12345\x1f536365\x1f85123A\x1fWHITE HANGING £ HEART\x1f6\x1f2.55\x1f15.3"
        "\x1f1291191960\x1fUnited Kingdom",
        # Summer time: 09:41 in London is 08:41 UTC; a missing unit price hashes as "".
        "17850\x1fC536379\x1f\x1fDiscount\x1f-1\x1f\x1f-27.5\x1f1309509660\x1fFrance",
    ]
    digests = normalise.line_hashes(lines)
    assert [bytes(d) for d in digests] == [
        hashlib.md5(text.encode(), usedforsecurity=False).digest() for text in expected
    ]
    assert normalise.hashes_hex(digests).to_pylist() == [
        hashlib.md5(text.encode(), usedforsecurity=False).hexdigest() for text in expected
    ]


def test_line_hash_formats_repeated_numbers_and_negative_zero_line_by_line():
    # Numbers and times are formatted once per distinct value: each line must still get its
    # own text, and -0.0 (a return of a free item: -2 x 0.0) is not 0.0.
    times = ["2010-12-01 08:26:00", "2010-12-01 08:26:00", "2010-12-02 10:00:00"]
    lines = pd.DataFrame(
        {
            "customer_ext": ["12345", "12345", "12346"],
            "invoice": ["536365", "C536366", "536367"],
            "product_code": ["22423", "22423", "22423"],
            "description": ["CAKESTAND", "CAKESTAND", "CAKESTAND"],
            "quantity": [2.0, -2.0, 2.0],
            "unit_price": [0.0, 0.0, 12.75],
            "amount": [0.0, -0.0, 25.5],
            "ts": pd.to_datetime(times).tz_localize("UTC"),
            "country": ["United Kingdom"] * 3,
        }
    )
    expected = [
        "12345\x1f536365\x1f22423\x1fCAKESTAND\x1f2\x1f0\x1f0\x1f1291191960\x1fUnited Kingdom",
        "12345\x1fC536366\x1f22423\x1fCAKESTAND\x1f-2\x1f0\x1f-0\x1f1291191960\x1fUnited Kingdom",
        "12346\x1f536367\x1f22423\x1fCAKESTAND\x1f2\x1f12.75\x1f25.5\x1f1291284000"
        "\x1fUnited Kingdom",
    ]
    assert [bytes(d) for d in normalise.line_hashes(lines)] == [
        hashlib.md5(text.encode(), usedforsecurity=False).digest() for text in expected
    ]


def test_md5_digests_match_hashlib_in_several_threads_at_once():
    # DuckDB computes them, one connection per thread: the import hashes in its reader
    # thread while another import's reader may be hashing too.
    texts = [[f"line {t}-{i} £\x1f{i * 0.1}" for i in range(5000)] for t in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        digests = list(pool.map(lambda t: normalise.md5_digests(pa.array(t)), texts))
    for values, got in zip(texts, digests, strict=True):
        assert got.shape == (len(values), 16)
        assert got.tobytes() == b"".join(
            hashlib.md5(v.encode(), usedforsecurity=False).digest() for v in values
        )
    assert normalise.md5_digests(pa.array([], type=pa.string())).shape == (0, 16)
    with pytest.raises(ValueError, match="null"):
        normalise.md5_digests(pa.array(["a", None]))


def _child_hashes(out):
    out.put(normalise.md5_digests(pa.array(["after the fork"])).tobytes())


def test_md5_digests_in_a_forked_worker_process():
    # A worker pool forks its processes: a child still hashes after its parent has (with the
    # parent's DuckDB database, idle at the fork).
    normalise.md5_digests(pa.array(["before the fork"]))
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    child = context.Process(target=_child_hashes, args=(out,))
    child.start()
    digest = out.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert digest == hashlib.md5(b"after the fork", usedforsecurity=False).digest()


@pytest.fixture
def postgres(db):
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")


def another_connection():
    """A second session on the test database, outside Django."""
    return psycopg2.connect(dbname=connection.settings_dict["NAME"], **postgres_params())


def line_table_indexes() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1",
            [TransactionLine._meta.db_table],
        )
        return cursor.fetchall()


def test_first_import_is_bulk_loaded_and_keeps_the_indexes(
    postgres, settings, caplog, tmp_path, django_capture_on_commit_callbacks
):
    settings.IMPORT_BULK_LOAD_EMPTY_TABLE = True
    before = line_table_indexes()
    # One index: the primary key (workspace, customer, timestamp, line_hash).
    assert [name for name, _ in before] == ["customers_transactionline_pkey"]
    assert '(workspace_id, customer_id, "timestamp", line_hash)' in before[0][1]
    caplog.set_level(logging.INFO, logger="customers.importing.bulk_load")

    with django_capture_on_commit_callbacks(execute=True):
        first = import_path(ONLINE_RETAIL_SLICE)

    assert first.status == ImportRecord.Status.SUCCEEDED, first.error
    assert "bulk load into the empty line table" in caplog.text
    # Once committed, the filled tables get their planner statistics.
    assert "analysed after the bulk load" in caplog.text
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stats WHERE tablename = %s AND attname = 'customer_id'",
            [TransactionLine._meta.db_table],
        )
        assert cursor.fetchone()[0] == 1
    assert line_table_indexes() == before
    assert TransactionLine.unscoped.count() == first.rows_imported
    assert first.rows_imported and first.counts_by_reason["duplicate_in_file"]
    # The rebuilt primary key refuses a stored line again.
    line = TransactionLine.unscoped.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        line.save(force_insert=True)

    # The table is no longer empty: the next import keeps the indexes up to date instead,
    # and the lines the first one stored are found there.
    caplog.clear()
    other_bytes = tmp_path / "slice-with-a-blank-line.csv"
    other_bytes.write_bytes(ONLINE_RETAIL_SLICE.read_bytes() + b"\n")
    again = import_path(other_bytes)
    assert again.status == ImportRecord.Status.SUCCEEDED, again.error
    assert "bulk load" not in caplog.text
    assert again.rows_imported == 0
    assert TransactionLine.unscoped.count() == first.rows_imported


def stored_state() -> tuple:
    """The lines with their customers' external ids, and the customers, without ids."""
    lines = sorted(
        TransactionLine.unscoped.values_list("customer__external_id", "line_hash", "is_return")
    )
    customers = list(
        Customer.unscoped.order_by("external_id").values_list(
            "external_id", "country", "first_purchase_at", "last_purchase_at", "last_seen_at"
        )
    )
    return lines_checksum(), lines, customers


def test_bulk_load_gives_the_same_lines_as_the_row_by_row_path(postgres, settings):
    settings.IMPORT_BULK_LOAD_EMPTY_TABLE = True
    bulk = import_path(ONLINE_RETAIL_SLICE)
    bulk_state = stored_state()
    bulk_counts = (
        bulk.rows_imported,
        bulk.rows_duplicate,
        bulk.customers_created,
        bulk.counts_by_reason,
    )
    assert bulk.customers_created == Customer.unscoped.count() > 1
    TransactionLine.unscoped.all().delete()
    Customer.unscoped.all().delete()
    ImportRecord.unscoped.all().delete()

    settings.IMPORT_BULK_LOAD_EMPTY_TABLE = False
    plain = import_path(ONLINE_RETAIL_SLICE)
    assert stored_state() == bulk_state
    assert (
        plain.rows_imported,
        plain.rows_duplicate,
        plain.customers_created,
        plain.counts_by_reason,
    ) == bulk_counts


def sequence_is_past_every_id(model) -> bool:
    table = model._meta.db_table
    last = "pg_sequence_last_value(pg_get_serial_sequence(%s, 'id'))"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {last} >= max(id) FROM {table}", [table])  # noqa: S608 (ours)
        return cursor.fetchone()[0]


def test_bulk_load_keeps_the_customers_it_finds_and_numbers_new_ones_after_them(
    postgres, settings, tmp_path
):
    settings.IMPORT_BULK_LOAD_EMPTY_TABLE = True
    first = import_path(CDNOW_SLICE)
    assert first.status == ImportRecord.Status.SUCCEEDED, first.error
    ids = dict(Customer.unscoped.values_list("external_id", "id"))
    # Customers stay when their lines go; the table is empty again, so the next import is
    # bulk loaded too, and finds them.
    TransactionLine.unscoped.all().delete()
    Customer.unscoped.filter(external_id=min(ids)).update(first_purchase_at=None)
    other_bytes = tmp_path / "cdnow-with-a-blank-line.csv"
    other_bytes.write_bytes(CDNOW_SLICE.read_bytes() + b"\n")
    again = import_path(other_bytes)
    assert again.status == ImportRecord.Status.SUCCEEDED, again.error
    assert again.customers_created == 0
    assert dict(Customer.unscoped.values_list("external_id", "id")) == ids
    assert Customer.unscoped.get(external_id=min(ids)).first_purchase_at is not None
    assert TransactionLine.unscoped.count() == again.rows_imported == first.rows_imported
    assert set(TransactionLine.unscoped.values_list("customer_id", flat=True)) == set(ids.values())

    TransactionLine.unscoped.all().delete()
    newer = import_path(ONLINE_RETAIL_SLICE)
    assert newer.status == ImportRecord.Status.SUCCEEDED, newer.error
    new_ids = Customer.unscoped.exclude(external_id__in=ids).values_list("id", flat=True)
    assert len(new_ids) == newer.customers_created > 0
    assert min(new_ids) > max(ids.values())
    # The customer id sequence moved past the ids the load gave out: the ORM creates
    # without clashes.
    assert sequence_is_past_every_id(Customer)
    line = TransactionLine.unscoped.first()
    line.line_hash = uuid.uuid4()
    line.save(force_insert=True)
    Customer.objects.create(workspace=shops.test_shop(), external_id="made-by-hand")


def test_bulk_load_widens_the_customers_it_finds_and_copies_in_the_new_ones(
    postgres, settings, tmp_path
):
    """One file, some customers already stored (their lines removed) and some new: the new
    ones are written straight into the customer table, the stored ones widened."""
    settings.IMPORT_BULK_LOAD_EMPTY_TABLE = True
    header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    first = tmp_path / "first.csv"
    first.write_text(
        header
        + "1,A,APPLE,2,2011-03-01 10:00:00,1.50,100,France\n"
        + "2,B,PEAR,1,2011-03-05 09:00:00,2.00,200,Spain\n"
    )
    assert import_path(first).status == ImportRecord.Status.SUCCEEDED
    stored = dict(Customer.unscoped.values_list("external_id", "id"))
    TransactionLine.unscoped.all().delete()

    both = tmp_path / "both.csv"
    both.write_text(
        header
        + "3,A,APPLE,1,2011-02-01 08:00:00,1.50,100,Germany\n"  # earlier than stored
        + "4,C,PLUM,3,2011-04-02 12:30:00,0.80,300,Italy\n"  # new, with a return later
        + "C5,C,PLUM,-1,2011-04-03 12:30:00,0.80,300,Italy\n"
        + "6,D,FIG,5,2011-04-04 16:00:00,1.10,400,Portugal\n"
    )
    record = import_path(both)
    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert record.customers_created == 2
    customers = {c.external_id: c for c in Customer.unscoped.all()}
    assert {k: customers[k].id for k in stored} == stored
    assert min(customers["300"].id, customers["400"].id) > max(stored.values())
    local = ZoneInfo(shops.test_shop().time_zone)  # the file's times are the shop's
    widened = customers["100"]  # first purchase moved earlier, last kept, country the latest
    assert widened.first_purchase_at == pd.Timestamp("2011-02-01 08:00", tz=local)
    assert widened.last_purchase_at == pd.Timestamp("2011-03-01 10:00", tz=local)
    assert widened.country == "France"
    new = customers["300"]
    assert (new.first_purchase_at, new.last_purchase_at, new.last_seen_at) == (
        pd.Timestamp("2011-04-02 12:30", tz=local),
        pd.Timestamp("2011-04-02 12:30", tz=local),
        pd.Timestamp("2011-04-03 12:30", tz=local),
    )
    assert (new.country, new.email, new.name) == ("Italy", "", "")
    assert new.created_at == new.updated_at
    assert sequence_is_past_every_id(Customer)
    assert TransactionLine.unscoped.count() == 4


def test_bulk_load_into_one_workspace_keeps_to_its_customers(
    postgres, settings, caplog, shop, other_shop
):
    """The first lines of all go into other_shop by bulk load, while shop already has a
    customer (no lines) with one of the file's ids: other_shop gets its own customer."""
    settings.IMPORT_BULK_LOAD_EMPTY_TABLE = True
    theirs = Customer.objects.create(workspace=shop, external_id="00001")
    caplog.set_level(logging.INFO, logger="customers.importing.bulk_load")

    loaded = import_path(CDNOW_SLICE, workspace=other_shop)

    assert loaded.status == ImportRecord.Status.SUCCEEDED, loaded.error
    assert "bulk load into the empty line table" in caplog.text
    caplog.clear()
    assert loaded.customers_created == 400
    in_other = Customer.objects.in_workspace(other_shop)
    assert in_other.count() == 400 and not in_other.filter(pk=theirs.pk).exists()
    lines = TransactionLine.objects.in_workspace(other_shop)
    assert lines.count() == TransactionLine.unscoped.count() == loaded.rows_imported
    assert set(lines.values_list("customer_id", flat=True)) == set(
        in_other.values_list("pk", flat=True)
    )
    assert sequence_is_past_every_id(Customer)

    # Lines are stored now (in other_shop): the next import, into shop, is staged, and
    # finds shop's own customer.
    staged = import_path(CDNOW_SLICE, workspace=shop)
    assert staged.status == ImportRecord.Status.SUCCEEDED, staged.error
    assert "bulk load" not in caplog.text
    assert staged.rows_imported == loaded.rows_imported and staged.customers_created == 399
    assert Customer.objects.in_workspace(shop).get(external_id="00001").pk == theirs.pk
    assert TransactionLine.objects.in_workspace(shop).filter(customer=theirs).exists()
    assert lines.count() == loaded.rows_imported


@pytest.mark.django_db(transaction=True)
def test_bulk_load_progress_is_seen_by_others_while_the_import_runs(monkeypatch, settings):
    """The bulk load reads inside its transaction; its progress goes through another
    connection, so the import page sees it, and the final state is not overwritten."""
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    settings.IMPORT_BULK_LOAD_EMPTY_TABLE = True
    monkeypatch.setattr(sources, "CSV_BLOCK_BYTES", 32 * 1024)  # several chunks
    settings.IMPORT_DRY_RUN_ROWS = 300  # its chunks are "checking the first rows"
    onlooker = another_connection()
    onlooker.autocommit = True
    written, seen = [], []
    original = progress.write_progress

    def progress_then_look(record, *, stage, percent):
        original(record, stage=stage, percent=percent)
        written.append((stage, percent))
        with onlooker.cursor() as cursor:
            cursor.execute(
                "SELECT stage, progress FROM customers_importrecord WHERE id = %s", [record.pk]
            )
            seen.append(cursor.fetchone())

    monkeypatch.setattr(progress, "write_progress", progress_then_look)
    try:
        record = import_path(ONLINE_RETAIL_SLICE)
    finally:
        onlooker.close()

    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert seen == written
    assert [stage for stage, _ in written].count("reading") > 2
    assert written[-1] == ("writing", 85)
    assert (record.stage, record.progress) == ("done", 100)
    assert TransactionLine.unscoped.count() == record.rows_imported > 0


def test_seen_hashes_finds_repeats_within_and_across_calls():
    rng = np.random.default_rng(7)
    pool = [rng.bytes(16).hex() for _ in range(300)]
    # Distinct hashes that share their first 8 bytes, seen in different calls.
    pool += ["0123456789abcdef" + tail for tail in ["0" * 16, "f" * 16, "8" * 16]]
    calls = [rng.choice(pool, size=size) for size in [50, 200, 1, 400]]
    calls += [np.array(pool[-3:-1]), np.array(pool[-1:] + pool[-3:])]

    seen = SeenHashes()
    reference: set[str] = set()
    for hexes in calls:
        expected = []
        for h in hexes:
            expected.append(h not in reference)
            reference.add(h)
        digests = np.frombuffer(bytes.fromhex("".join(hexes)), dtype=np.uint8).reshape(-1, 16)
        assert list(seen.first_seen(digests)) == expected
    assert len(seen) == len(reference)


def test_seen_hashes_marks_the_first_of_many_repeats():
    # Many repeats of a few hashes in one call (a sort that does not keep their order would
    # pick another one): the first line of each is the one kept.
    rng = np.random.default_rng(11)
    pool = [rng.bytes(16).hex() for _ in range(12)]
    hexes = rng.choice(pool, size=5000)
    expected = np.zeros(len(hexes), dtype=bool)
    expected[[list(hexes).index(h) for h in set(hexes)]] = True
    digests = np.frombuffer(bytes.fromhex("".join(hexes)), dtype=np.uint8).reshape(-1, 16)
    assert (SeenHashes().first_seen(digests) == expected).all()


def test_bulk_load_that_fails_leaves_no_lines_and_every_index(postgres, monkeypatch, settings):
    settings.IMPORT_BULK_LOAD_EMPTY_TABLE = True
    # Fails after the indexes were dropped and the lines inserted, before they are rebuilt.
    monkeypatch.setattr(bulk_loading, "INDEX_BUILD_MEM", "not a size")
    before = line_table_indexes()

    record = import_path(CDNOW_SLICE)

    assert record.status == ImportRecord.Status.FAILED
    assert "nothing was imported" in record.error
    assert TransactionLine.unscoped.count() == 0
    assert line_table_indexes() == before


@pytest.mark.django_db
@pytest.mark.parametrize("bulk_load", [True, False])
def test_times_are_stored_exactly_across_clock_changes(tmp_path, settings, shop, bulk_load):
    settings.IMPORT_BULK_LOAD_EMPTY_TABLE = bulk_load
    # The shop's zone, with clock changes (not the site's: the workspace's zone applies).
    shop.time_zone = "Europe/London"
    shop.save()
    settings.TIME_ZONE = "America/New_York"
    settings.IMPORT_EARLIEST_YEAR = 1960  # a time before the epoch is stored exactly too
    header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    local_times = ["2010-12-01 08:26:00", "2011-03-27 00:59:59", "2011-03-27 02:30:00"]
    local_times += ["2011-10-30 01:15:01", "1969-07-20 20:17:40"]
    rows = [f"{i},A,a,1,{t},1.5,100{i},UK\n" for i, t in enumerate(local_times)]
    path = tmp_path / "times.csv"
    path.write_text(header + "".join(rows))

    record = import_path(path, workspace=shop)

    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    zone = ZoneInfo("Europe/London")
    stored = dict(TransactionLine.unscoped.values_list("invoice", "timestamp"))
    for i, text in enumerate(local_times):
        expected = pd.Timestamp(text).tz_localize(
            zone, ambiguous=False, nonexistent="shift_forward"
        )
        # In UTC: Python never finds a repeated-hour local time equal to another zone's.
        assert stored[str(i)] == expected.tz_convert("UTC").to_pydatetime(), text


def test_bulk_load_keeps_an_index_that_a_foreign_key_references(postgres, settings):
    settings.IMPORT_BULK_LOAD_EMPTY_TABLE = True
    line_table = TransactionLine._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE line_note (workspace_id bigint, customer_id bigint, ts timestamptz, "
            "line_hash uuid, FOREIGN KEY (workspace_id, customer_id, ts, line_hash) "
            f"REFERENCES {line_table})"
        )
    before = line_table_indexes()

    record = import_path(CDNOW_SLICE)

    assert record.status == ImportRecord.Status.SUCCEEDED, record.error
    assert line_table_indexes() == before
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'line_note'::regclass "
            "AND contype = 'f'"
        )
        assert cursor.fetchone()[0] == 1


def test_a_reader_in_a_long_transaction_means_no_bulk_load(postgres, monkeypatch, settings, caplog):
    settings.IMPORT_BULK_LOAD_EMPTY_TABLE = True
    monkeypatch.setattr(bulk_loading, "BULK_LOAD_LOCK_TIMEOUT", "200ms")
    caplog.set_level(logging.INFO, logger="customers.importing.bulk_load")
    reader = another_connection()
    try:
        with reader.cursor() as cursor:  # a transaction left open, holding ACCESS SHARE
            cursor.execute(f"SELECT count(*) FROM {TransactionLine._meta.db_table}")  # noqa: S608

        record = import_path(ONLINE_RETAIL_SLICE)

        assert record.status == ImportRecord.Status.SUCCEEDED, record.error
        assert "the line table is in use; not bulk loading" in caplog.text
        assert TransactionLine.unscoped.count() == record.rows_imported > 0
        with connection.cursor() as cursor:  # the short timeout did not outlive the check
            cursor.execute("SHOW lock_timeout")
            assert cursor.fetchone()[0] == "0"
    finally:
        reader.close()


@pytest.mark.django_db
@pytest.mark.parametrize("bulk_load", [True, False])
def test_a_file_whose_every_row_is_skipped_fails_and_stores_nothing(tmp_path, settings, bulk_load):
    settings.IMPORT_BULK_LOAD_EMPTY_TABLE = bulk_load
    header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    path = tmp_path / "anonymous.csv"
    path.write_text(header + "".join(f"{i},A,a,1,2011-01-0{i} 10:00,1.5,,UK\n" for i in (1, 2)))

    record = import_path(path)

    # Storing nothing is never a success: it fails, saying why.
    assert record.status == ImportRecord.Status.FAILED
    assert "None of the 2 rows could be stored: 2 had no customer id" in record.error
    assert (record.rows_read, record.rows_skipped, record.rows_imported) == (2, 2, 0)
    assert not TransactionLine.unscoped.exists() and not Customer.unscoped.exists()


def test_bulk_load_of_a_file_damaged_part_way_leaves_nothing(
    postgres, monkeypatch, settings, tmp_path
):
    """Some chunks are already in the line table (its indexes dropped) when the damage is
    found: the transaction takes them away and gives the indexes back."""
    settings.IMPORT_BULK_LOAD_EMPTY_TABLE = True
    monkeypatch.setattr(sources, "CSV_BLOCK_BYTES", 16 * 1024)
    written = []
    original_write = BulkLoad.write

    def write_and_count(self, chunk):
        original_write(self, chunk)
        written.append(chunk.stored if chunk else 0)

    monkeypatch.setattr(BulkLoad, "write", write_and_count)
    monkeypatch.setattr(sources, "SAMPLE_BYTES", 16 * 1024)  # the upload's check reads less
    # Long enough that the CSV reader's read-ahead does not meet the damage at once.
    header, body = ONLINE_RETAIL_SLICE.read_bytes().split(b"\n", 1)
    packed = gzip.compress(header + b"\n" + body * 20)
    damaged = tmp_path / "cut.csv.gz"
    damaged.write_bytes(packed[: len(packed) * 3 // 4])
    before = line_table_indexes()

    record = import_path(damaged)

    assert record.status == ImportRecord.Status.FAILED
    assert "truncated" in record.error
    assert len(written) > 1 and sum(written) > 0  # lines had gone in before the damage
    assert not TransactionLine.unscoped.exists() and not Customer.unscoped.exists()
    assert line_table_indexes() == before
