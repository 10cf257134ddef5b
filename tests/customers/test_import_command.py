"""manage.py import_transactions: synchronous by default, prints the counts."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from customers.models import Customer, ImportRecord

from .conftest import CDNOW_SLICE

pytestmark = pytest.mark.django_db


def test_command_imports_synchronously_and_prints_counts():
    out = StringIO()
    call_command("import_transactions", str(CDNOW_SLICE), stdout=out)
    record = ImportRecord.objects.get()
    assert record.status == ImportRecord.Status.SUCCEEDED
    text = out.getvalue()
    assert f"Import #{record.pk} cdnow_slice.csv: succeeded" in text
    assert f"rows read                  {record.rows_read:>10,}" in text
    assert f"duplicates                 {record.rows_duplicate:>10,}" in text
    for label, count in record.reasons():
        assert f"  · {label:<66} {count:>10,}" in text
    assert record.reasons() and not any(key in text for key in record.counts_by_reason)
    assert Customer.objects.count() == 400


def test_command_with_mapping_and_date_order(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text("Kunde;Datum;Summe\nk1;03/02/2011;10,5\nk2;04/02/2011;7\n")
    out = StringIO()
    call_command(
        "import_transactions",
        str(path),
        "--mapping",
        "customer_id=Kunde,timestamp=Datum,amount=Summe",
        "--date-order",
        "monthfirst",
        "--sync",
        stdout=out,
    )
    record = ImportRecord.objects.get()
    assert record.rows_imported == 2
    assert record.mapping == {"customer_id": "Kunde", "timestamp": "Datum", "amount": "Summe"}
    assert Customer.objects.get(external_id="k1").first_purchase_at.month == 3


def test_command_reports_a_bad_file_as_an_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(CommandError, match="The file is empty."):
        call_command("import_transactions", str(path))
    assert ImportRecord.objects.count() == 0


def test_command_can_queue_for_the_worker(run_tasks_inline):
    out = StringIO()
    call_command("import_transactions", str(CDNOW_SLICE), "--queue", stdout=out)
    record = ImportRecord.objects.get()
    assert run_tasks_inline == [record.pk]
    assert "queued for the worker" in out.getvalue()


def test_a_lost_database_connection_is_retried_then_given_up(monkeypatch):
    from django.db import OperationalError

    from customers import tasks
    from customers.importing.bulk_load import BulkLoad
    from customers.importing.staging import StagingTable
    from customers.services import import_record_create

    with open(CDNOW_SLICE, "rb") as f:
        record = import_record_create(file=f, file_name="c.csv", enqueue=False)

    def connection_lost(self, *, import_id):
        raise OperationalError("server closed the connection unexpectedly")

    # Whichever path the lines take (a bulk load into the empty table, or staging).
    monkeypatch.setattr(StagingTable, "move", connection_lost)
    monkeypatch.setattr(BulkLoad, "move", connection_lost)
    retries = []
    monkeypatch.setattr(
        tasks.process_import, "retry", lambda exc, countdown: retries.append(countdown) or exc
    )
    with pytest.raises(OperationalError):
        tasks.process_import.run(record.pk)
    assert retries == [10]
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.QUEUED

    tasks.process_import.push_request(retries=tasks.MAX_RETRIES)
    try:
        tasks.process_import.run(record.pk)
    finally:
        tasks.process_import.pop_request()
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.FAILED
    assert "database could not be reached" in record.error


def test_prune_import_files_deletes_only_old_finished_uploads(tmp_path):
    from datetime import timedelta
    from pathlib import Path

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from customers.models import TransactionLine

    call_command("import_transactions", str(CDNOW_SLICE), stdout=StringIO())
    old = ImportRecord.objects.get()
    old_file = Path(old.file.path)
    assert old_file.exists()
    lines = TransactionLine.objects.count()
    ImportRecord.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=40))
    path = tmp_path / "recent.csv"
    path.write_text("Kunde;Datum;Summe\nk1;2011-02-03;10,5\n")
    call_command(
        "import_transactions", str(path), "--mapping",
        "customer_id=Kunde,timestamp=Datum,amount=Summe", stdout=StringIO(),
    )  # fmt: skip
    recent = ImportRecord.objects.exclude(pk=old.pk).get()
    # Queued again (e.g. retried) with an old finish time: its status keeps its own file.
    queued = ImportRecord(file_name="q.csv", sha256="0" * 64, status=ImportRecord.Status.QUEUED)
    queued.file.save("q.csv", ContentFile(b"Kunde;Datum;Summe\n"), save=False)
    queued.finished_at = timezone.now() - timedelta(days=40)
    queued.save()
    queued_file = Path(queued.file.path)

    out = StringIO()
    call_command("prune_import_files", "--older-than-days", "30", "--dry-run", stdout=out)
    assert "Would delete 1 uploaded file(s)" in out.getvalue() and old_file.exists()

    out = StringIO()
    call_command("prune_import_files", "--older-than-days", "30", stdout=out)
    assert "Deleted 1 uploaded file(s)" in out.getvalue()
    assert not old_file.exists()
    old.refresh_from_db()
    assert not old.file and old.status == ImportRecord.Status.SUCCEEDED and old.rows_read
    assert Path(recent.file.path).exists()  # finished too recently
    assert ImportRecord.objects.get(pk=queued.pk).file and queued_file.exists()  # not finished
    assert TransactionLine.objects.count() == lines + 1  # no data touched


def test_prune_import_files_refuses_a_negative_age():
    with pytest.raises(CommandError, match="0 or more"):
        call_command("prune_import_files", "--older-than-days", "-1")
