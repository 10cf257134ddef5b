"""Writes for customers and imports. One import service serves the upload page, the API and
the management command: import_record_create stores and checks the file (a workbook's header
is read on the worker, import_record_read_file), import_record_process (worker side) reads it
and moves its lines in one transaction.

Everything here works in one workspace (the `workspace` argument): an import writes its
customers and lines into its own workspace, whose time zone and date order it reads the
file with, and the same customer id in two workspaces is two customers."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from audit.log import current_address
from audit.log import record as audit_record
from audit.models import AuditEntry
from transaction_files import dates
from transaction_files.columns import platform_date_order, resolve_mapping
from transaction_files.errors import ImportFileError, MappingNeeded
from transaction_files.preview import file_sample
from transaction_files.sources import (
    Utf8Invalid,
    fall_back_from_utf8,
    inspect_source,
    source_kind,
)

from .importing import progress
from .importing.bulk_load import bulk_load
from .importing.import_pass import read_pass, store_pass
from .importing.outcomes import ImportStopped, placeholder_ids, rejected_examples
from .importing.staging import StagingTable
from .layouts import guessed_mapping, import_layout_remember_if_mapped, layout_mapping_for
from .models import ImportRecord, ImportRejectedRow, TransactionLine
from .selectors import import_layout_for_columns

logger = logging.getLogger(__name__)

DATE_ORDERS = {"", *dates.ORDERS}
#: Imports that never read their file again (an undone import finished before it was undone).
FINISHED_STATUSES = (
    ImportRecord.Status.SUCCEEDED,
    ImportRecord.Status.FAILED,
    ImportRecord.Status.UNDONE,
)


def _file_sha256(f) -> str:
    digest = hashlib.sha256()
    f.seek(0)
    for block in iter(lambda: f.read(1024 * 1024), b""):
        digest.update(block)
    f.seek(0)
    return digest.hexdigest()


def _file_size(f) -> int:
    size = getattr(f, "size", None)
    if size is None:
        f.seek(0, 2)
        size = f.tell()
        f.seek(0)
    return size


def import_check_size(*, size: int) -> None:
    limit = settings.IMPORT_MAX_UPLOAD_BYTES
    if size > limit:
        raise ImportFileError(
            f"The file is {size:,} bytes; the largest file accepted is {limit:,} bytes. "
            "Compress it with gzip or split it."
        )


def _date_order(workspace, date_order: str, columns: list[str] = ()) -> str:
    """The date order an import reads with: the user's choice, else the one a platform's
    export is always in (columns.PLATFORM_LAYOUTS), else the workspace's."""
    if date_order not in DATE_ORDERS:
        raise ImportFileError(f"Unknown date order “{date_order}”.")
    return date_order or platform_date_order(list(columns)) or workspace.date_order


@transaction.atomic
def import_record_create(
    *,
    workspace,
    file,
    file_name: str,
    uploaded_by=None,
    mapping: dict[str, str] | None = None,
    date_order: str = "",
    sheet: str = "",
    allow_mapping_step: bool = False,
    enqueue: bool = True,
) -> ImportRecord:
    """Store an uploaded file as a new import into `workspace` and queue it for the worker.

    No date order chosen: the workspace's (itself possibly "detect"). The cheap checks run at
    once (size, format, a workbook's zip and its inflated size): a file they refuse raises
    ImportFileError and leaves no record. A workbook is then read on the worker only (status
    reading, see import_record_read_file), so its XML is never parsed in a web request; with
    enqueue=False (the caller imports in its own process) it is read here. Text files are
    read here (a bounded sample): format, encoding, header, mapping.

    When the columns are not recognised, MappingNeeded is raised, or with allow_mapping_step
    the import waits in status needs_mapping for import_record_set_mapping; read on the
    worker, the import fails with MappingNeeded's message, or waits likewise.
    """
    size = _file_size(file)
    import_check_size(size=size)
    _date_order(workspace, date_order)  # an unknown order is refused before anything is kept
    record = ImportRecord(
        workspace=workspace,
        file_name=Path(file_name).name[:255],
        file_size=size,
        sha256=_file_sha256(file),
        uploaded_by=uploaded_by,
        uploaded_from=current_address(),
        # Until the header is read, what the uploader asked for (see _read_header).
        mapping=mapping or {},
        date_order=date_order,
        date_order_chosen=bool(date_order),
        sheet=sheet or "",
        mapping_step=allow_mapping_step,
        status=ImportRecord.Status.READING,
    )
    record.file.save(Path(file_name).name, File(file), save=False)
    try:
        kind = source_kind(Path(record.file.path))
        if kind != "xlsx" or not enqueue:
            _read_header(record)
        record.save()
    except BaseException:
        record.file.delete(save=False)
        raise
    if record.status == ImportRecord.Status.QUEUED:
        _record_started(record, uploaded_by)
    if enqueue and record.status in (ImportRecord.Status.QUEUED, ImportRecord.Status.READING):
        import_record_enqueue(import_record=record)
    return record


class ImportNotRepeatable(ImportFileError):
    """The import did not fail, or its file is gone: there is nothing to import again."""


def import_record_again(
    *, workspace, import_record_id: int, date_order: str, user=None
) -> ImportRecord:
    """A new import of a failed import's file (its mapping, sheet and way of asking for a
    mapping kept), read with the date order chosen now: the way on when a file's dates left
    the order open, without finding and uploading the file again. Raises ImportNotRepeatable
    when the import did not fail or its file is gone (deleted after IMPORT_FILES_KEEP_DAYS),
    and ImportRecord.DoesNotExist for an import of another workspace."""
    earlier = ImportRecord.objects.in_workspace(workspace).get(pk=import_record_id)
    if earlier.status != ImportRecord.Status.FAILED:
        raise ImportNotRepeatable(f"Import #{earlier.pk} did not fail: there is nothing to retry.")
    if not earlier.file or not earlier.file.storage.exists(earlier.file.name):
        raise ImportNotRepeatable(
            f"The file of import #{earlier.pk} has been deleted since; upload it again."
        )
    with earlier.file.open("rb") as file:
        return import_record_create(
            workspace=workspace,
            file=file,
            file_name=earlier.file_name,
            uploaded_by=user,
            mapping=dict(earlier.mapping) or None,
            date_order=date_order,
            sheet=earlier.sheet,
            allow_mapping_step=earlier.mapping_step,
        )


def _read_header(record: ImportRecord) -> None:
    """Read the file's header (and, for the mapping step, its first rows) and move the
    unsaved record from reading to queued or needs_mapping. What the uploader asked for is on
    the record: the mapping, the date order ("" for none chosen), the sheet, mapping_step.
    Raises ImportFileError (MappingNeeded: columns not recognised, no mapping step)."""
    path = Path(record.file.path)
    info = inspect_source(path, sheet=record.sheet, code_page=record.workspace.code_page)
    chosen_date_order = record.date_order
    mapping = dict(record.mapping) or None
    record.columns = info.columns
    record.sheet = info.sheet
    record.date_order = _date_order(record.workspace, chosen_date_order, info.columns)
    if not mapping:
        mapping = _remembered_mapping(record, chosen_date_order)
    try:
        record.mapping = resolve_mapping(info.columns, mapping)
        record.status = ImportRecord.Status.QUEUED
    except MappingNeeded:
        earlier = _same_file_earlier(record)
        if earlier is not None:
            # The same bytes were imported before: read them as then, and the worker
            # says "already imported" instead of asking for a mapping again.
            record.mapping = earlier.mapping
            record.status = ImportRecord.Status.QUEUED
        elif not record.mapping_step:
            raise
        else:
            record.layout = None
            record.sample = file_sample(path, info)
            record.mapping = {**guessed_mapping(import_record=record), **(mapping or {})}
            record.status = ImportRecord.Status.NEEDS_MAPPING


def import_record_read_file(*, workspace, import_record_id: int) -> ImportRecord:
    """The worker's first step for an import still reading (a workbook): open the file, read
    its header and first rows, and move the import on as an upload read in the request would
    (queued, needs_mapping), or to failed with the message the uploader sees. Safe to run
    again on the same id; does nothing to an import past reading. Raises
    ImportRecord.DoesNotExist for an import of another workspace."""
    imports = ImportRecord.objects.in_workspace(workspace)
    record = imports.get(pk=import_record_id)
    if record.status != ImportRecord.Status.READING:
        return record
    started = time.monotonic()
    # The read happens outside any transaction: a slow workbook holds no lock (on SQLite, a
    # transaction holds the database's write lock from its start).
    imports.filter(pk=record.pk, status=ImportRecord.Status.READING).update(
        stage="opening the file", started_at=timezone.now()
    )
    error = ""
    try:
        _read_header(record)
    except ImportFileError as exc:
        error = str(exc)
    except (OperationalError, InterfaceError):
        raise  # transient: the task retries
    except Exception:
        logger.exception("import %s: reading the file failed", record.pk)
        error = (
            "The file could not be read because of an unexpected error; nothing was imported. "
            "The error has been logged for the administrators."
        )
    with transaction.atomic():
        current = imports.select_for_update().get(pk=record.pk)
        if current.status != ImportRecord.Status.READING:
            return current  # another delivery of the task got there first
        if error:
            # The header, when it was read, says the client what to map (MappingNeeded).
            imports.filter(pk=record.pk).update(columns=record.columns, sheet=record.sheet)
            _fail(current, error, started)
            current.refresh_from_db()
            return current
        record.stage = ""
        record.save(
            update_fields=[
                "columns",
                "sheet",
                "mapping",
                "date_order",
                "layout",
                "sample",
                "status",
                "stage",
            ]
        )
        if record.status == ImportRecord.Status.QUEUED:
            _record_started(record, record.uploaded_by)
    return record


def _record_started(import_record: ImportRecord, user) -> None:
    """An import starts when it is queued: at upload, or once its columns are mapped."""
    audit_record(
        workspace=import_record.workspace,
        action=AuditEntry.Action.IMPORT_STARTED,
        actor=user,
        target=import_record,
        details={"file_name": import_record.file_name, "file_size": import_record.file_size},
        address=import_record.uploaded_from,  # a workbook's entry is written on the worker
    )


@transaction.atomic
def import_record_set_mapping(
    *,
    workspace,
    import_record: ImportRecord,
    mapping: dict[str, str],
    date_order: str = "",
    enqueue: bool = True,
) -> ImportRecord:
    """Complete the mapping step of an import waiting for it, then queue it. No date order
    chosen: the workspace's. Raises ImportRecord.DoesNotExist for another workspace's."""
    record = (
        ImportRecord.objects.in_workspace(workspace).select_for_update().get(pk=import_record.pk)
    )
    if record.status != ImportRecord.Status.NEEDS_MAPPING:
        raise ImportFileError("This import is not waiting for a column mapping.")
    record.mapping = resolve_mapping(record.columns, mapping)
    record.date_order = _date_order(workspace, date_order, record.columns)
    record.date_order_chosen = bool(date_order)
    record.status = ImportRecord.Status.QUEUED
    record.save(update_fields=["mapping", "date_order", "date_order_chosen", "status"])
    _record_started(record, record.uploaded_by)
    if enqueue:
        import_record_enqueue(import_record=record)
    return record


def _remembered_mapping(record: ImportRecord, chosen_date_order: str) -> dict[str, str] | None:
    """The mapping of the workspace's remembered layout for the record's header (and its date
    order, unless one was chosen), noted on the record; None when there is none."""
    layout = import_layout_for_columns(workspace=record.workspace, columns=record.columns)
    if layout is None:
        return None
    record.layout = layout
    if not chosen_date_order and layout.date_order:
        record.date_order = layout.date_order
    return layout_mapping_for(layout, record.columns)


def _same_file_earlier(record: ImportRecord) -> ImportRecord | None:
    """The workspace's latest succeeded import of the same bytes, if any."""
    return (
        ImportRecord.objects.in_workspace(record.workspace)
        .filter(sha256=record.sha256, status=ImportRecord.Status.SUCCEEDED, sheet=record.sheet)
        .order_by("-created_at", "-id")
        .first()
    )


def import_record_enqueue(*, import_record: ImportRecord) -> None:
    """Hand the import to the worker once the current transaction commits."""
    from .tasks import process_import

    process_import.delay_on_commit(import_record.pk)


def _log_times(record, started: float, read_done: float, moved: float) -> None:
    logger.info(
        "import %s: read and staged %.2f s, moved %.2f s, committed %.2f s",
        record.pk,
        read_done - started,
        moved - read_done,
        time.monotonic() - moved,
    )


def import_record_process(*, workspace, import_record_id: int) -> ImportRecord:
    """Read the import's file and store its lines into `workspace`, the import's; the
    worker's (and the command's) call. Raises ImportRecord.DoesNotExist for an import of
    another workspace.

    Reading and staging happen outside the final transaction so progress is visible; the
    customers, lines, rejected rows and counts are written in one transaction, so a failure
    leaves nothing behind and earlier data untouched. The first import into an empty line
    table on PostgreSQL reads inside that transaction instead (importing.bulk_load), with
    progress written through another connection. Safe to run again on the same id.

    Nothing is written until the first rows pass the dry run (importing.dry_run); an import
    stopped there, or one that stores no line, fails with its counts and rejected rows kept
    (ImportStopped). A finished import stores its summary for the page.
    """
    imports = ImportRecord.objects.in_workspace(workspace)
    with transaction.atomic():
        record = imports.select_for_update().get(pk=import_record_id)
        if record.status not in (ImportRecord.Status.QUEUED, ImportRecord.Status.RUNNING):
            return record
        record.status = ImportRecord.Status.RUNNING
        record.started_at = timezone.now()
        record.stage, record.progress = "reading", 0
        record.save(update_fields=["status", "started_at", "stage", "progress"])

    started = time.monotonic()
    staging = None
    try:
        earlier = _same_file_stored(record)
        if earlier is not None:
            _record_repeat(record, earlier, started)
            record.refresh_from_db()
            return record
        path = Path(record.file.path)
        info = inspect_source(path, sheet=record.sheet, code_page=record.workspace.code_page)
        mapping = resolve_mapping(info.columns, record.mapping)
        notices = list(info.notices)
        while True:
            try:
                # The first import into an empty line table reads inside its one transaction
                # (see BulkLoad), so its progress goes through another connection.
                with bulk_load(record.pk, workspace_id=record.workspace_id) as staging:
                    if staging is not None:
                        with progress.ProgressElsewhere() as elsewhere:
                            run = read_pass(staging, record, path, info, mapping, elsewhere)
                        times = store_pass(record, run, staging, notices, started)
                if staging is None:
                    staging = StagingTable(record.pk, workspace_id=record.workspace_id)
                    run = read_pass(staging, record, path, info, mapping, progress.write_progress)
                    with transaction.atomic():
                        times = store_pass(record, run, staging, notices, started)
                _log_times(record, started, *times)
                break
            except Utf8Invalid:
                # Invalid UTF-8 after the first block: read the whole file again.
                if staging is not None:
                    staging.drop()
                notices.append(fall_back_from_utf8(info))
    except ImportStopped as exc:
        _stop(record, exc, started)
    except ImportFileError as exc:
        _fail(record, str(exc), started)
    except (OperationalError, InterfaceError):
        # The database went away: transient. Nothing was committed; put the import back in
        # the queue's hands (the task retries with backoff) when the database lets us.
        with contextlib.suppress(OperationalError, InterfaceError):
            imports.filter(pk=record.pk).update(
                status=ImportRecord.Status.QUEUED, stage="waiting to retry", progress=0
            )
        raise
    except Exception:
        logger.exception("import %s failed", record.pk)
        _fail(
            record,
            "The import failed because of an unexpected error; nothing was imported. "
            "The error has been logged for the administrators.",
            started,
        )
    finally:
        if staging is not None:
            with contextlib.suppress(OperationalError, InterfaceError):
                staging.drop()
    record.refresh_from_db()
    if record.status == ImportRecord.Status.SUCCEEDED:
        import_layout_remember_if_mapped(workspace=workspace, import_record=record)
        record.refresh_from_db()
    return record


def _same_file_stored(record: ImportRecord) -> ImportRecord | None:
    """An earlier successful import of the same bytes into the same workspace, read the same
    way, whose lines are all still stored: importing the file again can add nothing, so it
    need not be read.

    Only an import that stored every distinct line itself qualifies (none was already stored
    by an older import that may since have lost lines); when lines were deleted since (a
    customer deleted), the count differs and the file is read again, line by line. One that
    skipped placeholder ids is read again once the shop keeps some ids, and one that skipped
    customers kept out is always read again.
    """
    earlier = (
        ImportRecord.objects.in_workspace(record.workspace)
        .filter(
            sha256=record.sha256,
            status=ImportRecord.Status.SUCCEEDED,
            mapping=record.mapping,
            date_order=record.date_order,
            sheet=record.sheet,
            rows_imported__gt=0,
        )
        .exclude(pk=record.pk)
        .order_by("created_at", "id")
        .first()
    )
    if earlier is None or earlier.counts_by_reason.get("already_imported"):
        return None
    if earlier.rows_with_placeholder_id and record.workspace.customer_ids_kept:
        return None  # ids it skipped may be kept now: read it again
    if earlier.rows_of_kept_out_customers:
        return None  # customers it kept out may have been let back in since
    stored = (
        TransactionLine.objects.in_workspace(record.workspace)
        .filter(import_record_id=earlier.pk)
        .count()
    )
    return earlier if stored == earlier.rows_imported else None


def _record_repeat(record: ImportRecord, earlier: ImportRecord, started: float) -> None:
    """Finish an import of a file already stored: the counts a full read would give."""
    reasons = {
        k: v
        for k, v in earlier.counts_by_reason.items()
        if k not in ("imported_returns", "imported_non_product")
    }
    reasons["already_imported"] = earlier.rows_imported
    already = (
        f"This file was already imported (import #{earlier.pk}); 0 new lines were added. "
        "It was not read again."
    )
    notices = [
        n
        for n in earlier.notices
        if not n.startswith(("This file was already imported", "Every line was already"))
    ]
    rejected_notices = [n for n in notices if "rows were rejected" in n]
    notices = [n for n in notices if n not in rejected_notices] + [already] + rejected_notices
    with transaction.atomic():
        ImportRejectedRow.objects.bulk_create(
            [
                ImportRejectedRow(
                    import_record=record,
                    line_number=row.line_number,
                    column=row.column,
                    value=row.value,
                    message=row.message,
                )
                for row in earlier.rejected_rows.all()
            ],
            batch_size=2000,
        )
        ImportRecord.objects.in_workspace(record.workspace).filter(pk=record.pk).update(
            status=ImportRecord.Status.SUCCEEDED,
            stage="done",
            progress=100,
            rows_read=earlier.rows_read,
            rows_imported=0,
            rows_skipped=earlier.rows_skipped,
            rows_duplicate=earlier.rows_duplicate + earlier.rows_imported,
            rows_rejected=earlier.rows_rejected,
            customers_created=0,
            counts_by_reason=dict(sorted(reasons.items())),
            notices=notices,
            # The file's lines are the earlier import's: so are its figures.
            summary=earlier.summary,
            finished_at=timezone.now(),
            duration_seconds=time.monotonic() - started,
            error="",
        )


@dataclass
class PrunedFiles:
    files: int
    bytes: int


def import_files_prune(*, workspace, older_than: timedelta, dry_run: bool = False) -> PrunedFiles:
    """Delete the uploaded files of `workspace`'s imports that finished more than
    ``older_than`` ago.

    A finished import never reads its file again (a re-upload of the same bytes is
    recognised by its sha256, which stays), so the file is only disk space; the record, its
    counts and its rejected rows are kept, its first rows kept for the mapping step go with
    the file (they hold the same e-mails and names). Queued, running and waiting imports keep
    theirs.
    """
    cutoff = timezone.now() - older_than
    imports = ImportRecord.objects.in_workspace(workspace)
    records = imports.filter(status__in=FINISHED_STATUSES, finished_at__lt=cutoff).exclude(file="")
    pruned = PrunedFiles(0, 0)
    for record in records.iterator():
        storage, name = record.file.storage, record.file.name
        size = storage.size(name) if storage.exists(name) else 0
        if not dry_run:
            storage.delete(name)
            imports.filter(pk=record.pk).update(file="", sample={})
        pruned.files += 1
        pruned.bytes += size
    return pruned


def import_records_expire_waiting(*, workspace, older_than: timedelta) -> int:
    """Give up on `workspace`'s imports left waiting for their column mapping for longer
    than ``older_than``: failed, saying so, their file and first rows deleted (they hold
    customers' contact details). Returns how many."""
    waiting = ImportRecord.objects.in_workspace(workspace).filter(
        status=ImportRecord.Status.NEEDS_MAPPING, created_at__lt=timezone.now() - older_than
    )
    expired = 0
    for record in waiting.iterator():
        if record.file:
            record.file.storage.delete(record.file.name)
        expired += waiting.filter(pk=record.pk).update(
            status=ImportRecord.Status.FAILED,
            stage="failed",
            file="",
            sample={},
            error=f"No column mapping was chosen within {older_than.days} days, so the "
            "uploaded file was deleted. Upload it again to import it.",
            finished_at=timezone.now(),
        )
    return expired


def import_record_fail(*, workspace, import_record_id: int, message: str) -> None:
    """Give up on an import (e.g. the database stayed unreachable through every retry)."""
    ImportRecord.objects.in_workspace(workspace).filter(
        pk=import_record_id,
        status__in=[
            ImportRecord.Status.READING,
            ImportRecord.Status.QUEUED,
            ImportRecord.Status.RUNNING,
        ],
    ).update(
        status=ImportRecord.Status.FAILED,
        stage="failed",
        error=message,
        finished_at=timezone.now(),
    )


def _stop(record: ImportRecord, stopped: ImportStopped, started: float) -> None:
    """Fail an import that stopped before storing anything, keeping what it read (counts,
    rejected rows and their examples) so its page shows why."""
    run = stopped.run
    with transaction.atomic():
        ImportRejectedRow.objects.in_workspace(record.workspace).filter(
            import_record_id=record.pk
        ).delete()  # an earlier attempt's, if the worker was redelivered
        ImportRejectedRow.objects.bulk_create(run.rejected, batch_size=2000)
        ImportRecord.objects.in_workspace(record.workspace).filter(pk=record.pk).update(
            rows_read=run.rows_read,
            rows_imported=0,
            rows_skipped=run.rows_skipped,
            rows_duplicate=0,
            rows_rejected=run.rows_rejected,
            customers_created=0,
            counts_by_reason={k: v for k, v in sorted(run.reasons.items()) if v},
            summary={
                "rejected": rejected_examples(run.rejected),
                "placeholder_ids": placeholder_ids(run),
            },
        )
        _fail(record, str(stopped), started)


def _fail(record: ImportRecord, message: str, started: float) -> None:
    ImportRecord.objects.in_workspace(record.workspace).filter(pk=record.pk).update(
        status=ImportRecord.Status.FAILED,
        stage="failed",
        error=message,
        finished_at=timezone.now(),
        duration_seconds=time.monotonic() - started,
    )
