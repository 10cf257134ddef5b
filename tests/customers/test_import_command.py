"""manage.py import_transactions: synchronous by default, prints the counts; into the
workspace named by --workspace, or the only one there is."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from customers.models import Customer, ImportRecord
from tests import shops

from .conftest import CDNOW_SLICE, FIXTURES, ONLINE_RETAIL_SLICE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("shop")]


def test_command_imports_synchronously_and_prints_counts():
    out = StringIO()
    # a slice with rows skipped, copies and returns: each reason is printed in words
    call_command("import_transactions", str(ONLINE_RETAIL_SLICE), stdout=out)
    record = ImportRecord.unscoped.get()
    assert record.status == ImportRecord.Status.SUCCEEDED
    text = out.getvalue()
    assert f"Import #{record.pk} {ONLINE_RETAIL_SLICE.name}: succeeded" in text
    counted = [line for line in text.splitlines() if re.fullmatch(r"  \S.*? +[\d,]+", line)]
    assert len({len(line) for line in counted}) == 1  # the counts in one column
    assert any(re.fullmatch(rf"  rows read +{record.rows_read:,}", line) for line in counted)
    assert any(re.fullmatch(rf"  duplicates +{record.rows_duplicate:,}", line) for line in counted)
    for label, count in record.reasons():
        assert any(re.fullmatch(rf"  · {re.escape(label)} +{count:,}", line) for line in counted)
    assert len(record.reasons()) >= 3
    assert not any(key in text for key in record.counts_by_reason)
    assert Customer.unscoped.count() == record.customers_created > 0


def test_command_prints_the_warnings_of_an_import_that_left_rows_out(tmp_path):
    path = tmp_path / "kasse.csv"
    path.write_text("Kunde;Datum;Summe\nk1;2011-02-03;10,5\nGast;2011-02-04;7\n0;2011-02-04;3\n")
    out = StringIO()
    call_command(
        "import_transactions",
        str(path),
        "--mapping",
        "customer_id=Kunde,timestamp=Datum,amount=Summe",
        stdout=out,
    )
    record = ImportRecord.unscoped.get()
    text = out.getvalue()
    assert f"Import #{record.pk} kasse.csv: succeeded with warnings" in text
    [warning] = record.warnings
    assert warning.startswith("2 of 3 rows were skipped: their customer id stands for no")
    assert f"  warning: {warning}\n" in text


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
    record = ImportRecord.unscoped.get()
    assert record.rows_imported == 2
    assert record.mapping == {"customer_id": "Kunde", "timestamp": "Datum", "amount": "Summe"}
    assert Customer.unscoped.get(external_id="k1").first_purchase_at.month == 3
    # the mapping used, as --mapping takes it
    assert "  mapping customer_id=Kunde,timestamp=Datum,amount=Summe\n" in out.getvalue()


def test_command_says_which_export_a_file_was_read_as(shop):
    shop.currency = "USD"  # the export's
    shop.save(update_fields=["currency"])
    out = StringIO()
    call_command("import_transactions", str(FIXTURES / "square_item_sales.csv"), stdout=out)
    text = out.getvalue()
    assert "  read as Square item sales export\n" in text
    assert "line_type=Event Type" in text and "amount=Net Sales" in text


def test_command_reports_a_bad_file_as_an_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(CommandError, match="The file is empty."):
        call_command("import_transactions", str(path))
    assert ImportRecord.unscoped.count() == 0


def test_columns_not_recognised_get_the_pages_guesses_as_a_mapping_to_run_with(tmp_path):
    path = tmp_path / "kasse.csv"
    path.write_text("Kunde;Kundennr;Datum;Betrag\nAnna;K-1;05.01.2024;12,50\n")
    with pytest.raises(CommandError) as refused:
        call_command("import_transactions", str(path), stdout=StringIO())
    message = str(refused.value)
    assert message.startswith("The columns of this file were not recognised.")
    suggested = re.search(r'--mapping "([^"]+)"', message).group(1)
    assert suggested == "customer_id=Kunde,timestamp=Datum,amount=Betrag"
    assert "less sure, customer id: " in message and "“Kundennr” could be it" in message
    assert not ImportRecord.unscoped.exists()  # nothing kept of the refused file

    mended = suggested.replace("customer_id=Kunde", "customer_id=Kundennr")
    call_command("import_transactions", str(path), "--mapping", mended, stdout=StringIO())
    assert list(Customer.unscoped.values_list("external_id", flat=True)) == ["K-1"]


def test_a_field_no_column_looks_like_is_named(tmp_path):
    path = tmp_path / "visits.csv"
    path.write_text("Kundennr;Datum\nK-1;05.01.2024\n")
    with pytest.raises(CommandError) as refused:
        call_command("import_transactions", str(path), stdout=StringIO())
    assert '--mapping "customer_id=Kundennr,timestamp=Datum"' in str(refused.value)
    assert str(refused.value).endswith("No column looked like Unit price or line amount.")


def test_nothing_guessed_is_said_plainly(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("a;b;c\nx;y;z\n")
    with pytest.raises(CommandError) as refused:
        call_command("import_transactions", str(path), stdout=StringIO())
    assert "--mapping" not in str(refused.value)
    assert "The file's columns are: a, b, c." in str(refused.value)


def test_command_can_queue_for_the_worker(run_tasks_inline):
    out = StringIO()
    call_command("import_transactions", str(CDNOW_SLICE), "--queue", stdout=out)
    record = ImportRecord.unscoped.get()
    assert run_tasks_inline == [record.pk]
    assert "queued for the worker" in out.getvalue()


def test_a_lost_database_connection_is_retried_then_given_up(monkeypatch):
    from django.db import OperationalError

    from customers import tasks
    from customers.importing.bulk_load import BulkLoad
    from customers.importing.staging import StagingTable
    from customers.services import import_record_create

    with open(CDNOW_SLICE, "rb") as f:
        record = import_record_create(
            workspace=shops.test_shop(), file=f, file_name="c.csv", enqueue=False
        )

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
    old = ImportRecord.unscoped.get()
    old_file = Path(old.file.path)
    assert old_file.exists()
    lines = TransactionLine.unscoped.count()
    ImportRecord.unscoped.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=40))
    path = tmp_path / "recent.csv"
    path.write_text("Kunde;Datum;Summe\nk1;2011-02-03;10,5\n")
    call_command(
        "import_transactions", str(path), "--mapping",
        "customer_id=Kunde,timestamp=Datum,amount=Summe", stdout=StringIO(),
    )  # fmt: skip
    recent = ImportRecord.unscoped.exclude(pk=old.pk).get()
    # Queued again (e.g. retried) with an old finish time: its status keeps its own file.
    queued = ImportRecord(
        workspace=shops.test_shop(),
        file_name="q.csv",
        sha256="0" * 64,
        status=ImportRecord.Status.QUEUED,
    )
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
    assert ImportRecord.unscoped.get(pk=queued.pk).file and queued_file.exists()  # not finished
    assert TransactionLine.unscoped.count() == lines + 1  # no data touched


def test_prune_import_files_refuses_a_negative_age():
    with pytest.raises(CommandError, match="0 or more"):
        call_command("prune_import_files", "--older-than-days", "-1")


def test_with_several_workspaces_the_command_needs_to_be_told_which(other_shop):
    with pytest.raises(CommandError) as refused:
        call_command("import_transactions", str(CDNOW_SLICE), stdout=StringIO())
    assert "--workspace" in str(refused.value)
    assert "other-shop" in str(refused.value) and "shop" in str(refused.value)
    assert ImportRecord.unscoped.count() == 0

    with pytest.raises(CommandError, match="No workspace 'garden'; the workspaces are: "):
        call_command("import_transactions", str(CDNOW_SLICE), "--workspace", "garden")

    out = StringIO()
    call_command("import_transactions", str(CDNOW_SLICE), "--workspace", "other-shop", stdout=out)
    record = ImportRecord.objects.in_workspace(other_shop).get()
    assert "(workspace other-shop)" in out.getvalue()
    assert record.status == ImportRecord.Status.SUCCEEDED
    assert Customer.objects.in_workspace(other_shop).count() == 400
    assert not Customer.objects.in_workspace(shops.test_shop()).exists()


def test_prune_import_files_in_one_or_every_workspace(other_shop):
    from datetime import timedelta

    from django.utils import timezone

    shop = shops.test_shop()
    for workspace in (shop, other_shop):
        call_command(
            "import_transactions", str(CDNOW_SLICE), "--workspace", workspace.slug,
            stdout=StringIO(),
        )  # fmt: skip
    ImportRecord.unscoped.update(finished_at=timezone.now() - timedelta(days=40))
    with pytest.raises(CommandError, match="pass --workspace with one of: other-shop, shop"):
        call_command("prune_import_files")

    out = StringIO()
    call_command("prune_import_files", "--workspace", "shop", stdout=out)
    assert "shop: Deleted 1 uploaded file(s)" in out.getvalue()
    assert not ImportRecord.objects.in_workspace(shop).get().file
    assert ImportRecord.objects.in_workspace(other_shop).get().file

    out = StringIO()
    call_command("prune_import_files", "--all-workspaces", stdout=out)
    assert "other-shop: Deleted 1 uploaded file(s)" in out.getvalue()
    assert "shop: Deleted 0 uploaded file(s)" in out.getvalue()
    assert not ImportRecord.objects.in_workspace(other_shop).get().file
