"""One pass over an import's file: read it through the pipeline into a staging table (or
a bulk load), counting and keeping rejected rows, its first chunks held back until the dry
run lets them through, then move the lines in and write the import's counts.
customers.services runs the passes (a second one when the file turns out not to be UTF-8)
inside the import's lifecycle.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from django.utils import timezone

from transaction_files.errors import ImportFileError
from transaction_files.normalise import Normaliser
from transaction_files.sources import BadRow, SourceInfo

from ..kept_out import kept_out_customer_ids, kept_out_meanwhile
from ..models import ImportRecord, ImportRejectedRow
from .bounds import import_bounds
from .contacts import ContactDetails
from .dry_run import DryRun
from .outcomes import ImportStopped, import_summary, nothing_stored_message
from .pipeline import ChunkReader
from .staging import StagingTable

MAX_STORED_REJECTED_ROWS = 10_000


class ImportPass:
    """The counts and rejected rows of one pass over an import's file (a file read again as
    Latin-1 gets a new pass)."""

    def __init__(self, record: ImportRecord):
        self.record = record
        self.rows_read = 0
        self.rows_skipped = 0
        self.rows_rejected = 0
        self.rejected: list[ImportRejectedRow] = []
        self.reasons: Counter = Counter()
        self.placeholder_ids: Counter = Counter()  # ids that stand for no customer: rows
        self.top_customers: Counter = Counter()  # the chunks' largest customers: rows
        self.contacts = ContactDetails()  # e-mails and names, when the mapping has them
        # the customer ids kept out as the file was read (its rows of those were skipped)
        self.kept_out_ids: frozenset[str] = frozenset()

    def bad_row(self, bad: BadRow) -> None:
        self.rows_read += 1
        self.rows_rejected += 1
        self.reasons["rejected_wrong_column_count"] += 1
        self.keep(bad.line_number, "", bad.text, bad.message)

    def keep(self, line_number: int, column: str, value: str, message: str) -> None:
        if len(self.rejected) < MAX_STORED_REJECTED_ROWS:
            self.rejected.append(
                ImportRejectedRow(
                    import_record=self.record,
                    line_number=line_number or 0,
                    column=column[:255],
                    value=value.replace("\x00", "\ufffd"),  # PostgreSQL's text refuses NUL
                    message=message[:255],
                )
            )


def _read_into(
    staging: StagingTable, run: ImportPass, path: Path, info: SourceInfo, mapping, progress
) -> None:
    record = run.record
    run.kept_out_ids = kept_out_customer_ids(workspace=record.workspace)
    normaliser = Normaliser(
        mapping=mapping,
        date_order=record.date_order or None,
        # Times without an offset are the shop's local times.
        time_zone=record.workspace.time_zone,
        decimal_comma=info.delimiter != ",",
        bounds=import_bounds(),
        uploaded_at=record.created_at,
        order_default_from=record.date_order_default_source(),
        pseudonym_key=record.workspace.pseudonym_key,
        currency=record.workspace.currency,
        money_marks=record.workspace.currency_marks,
        kept_customer_ids=record.workspace.kept_customer_ids,
        kept_out_customer_ids=run.kept_out_ids,
    )
    reader = ChunkReader(staging, normaliser, path, info, mapping)
    # The chunks read before the dry run's verdict: written only once it lets them through.
    dry_run, held = DryRun(), []
    reader.start()
    try:
        while True:
            item = reader.items.get()
            kind = item[0]
            if kind == "error":
                raise item[1]
            if kind == "stage":
                progress(record, stage=item[1], percent=int(item[2] * 80))
                continue
            bad_rows = item[-1]
            for bad in bad_rows:
                run.bad_row(bad)
            if kind == "done":
                dry_run.see(0, (), (), bad_rows)
                dry_run.check(run)
                for prepared in held or ():
                    staging.write(prepared)
                return
            _, read_share, result, prepared, line_numbers, _ = item
            run.rows_read += result.rows_read
            run.rows_skipped += result.rows_skipped
            run.rows_rejected += len(result.rejections)
            run.reasons.update(result.reasons)
            run.placeholder_ids.update(result.placeholder_ids)
            run.top_customers.update(result.top_customers)
            run.contacts.add(result.contacts)
            for r in result.rejections:
                run.keep(r.line_number, r.column, r.value, r.message)
            if held is not None:
                dry_run.see(result.rows_read, line_numbers, result.rejections, bad_rows)
                held.append(prepared)
                if not dry_run.complete:
                    progress(record, stage="checking the first rows", percent=int(read_share * 80))
                    continue
                dry_run.check(run)
                for prepared in held:
                    staging.write(prepared)
                held = None
            else:
                staging.write(prepared)
            progress(record, stage="reading", percent=int(read_share * 80))
    finally:
        reader.stop()


def read_pass(staging: StagingTable, record, path, info, mapping, progress) -> ImportPass:
    """Read the whole file into the staging table (or bulk load); the pass's counts."""
    run = ImportPass(record)
    _read_into(staging, run, path, info, mapping, progress)
    if run.rows_read == 0:
        raise ImportFileError("The file has a header line but no rows.")
    progress(record, stage="writing", percent=85)
    return run


def _check_none_removed_meanwhile(record, run: ImportPass) -> None:
    """ImportFileError (rolling the move back) when a customer this file stored lines for was
    kept out (removed, or listed) while it was read."""
    back = kept_out_meanwhile(
        workspace=record.workspace, before=run.kept_out_ids, import_record_id=record.pk
    )
    if back:
        ids = ", ".join(f"“{i}”" for i in back)
        raise ImportFileError(
            f"While this file was read, a manager kept customer {ids} out of imports (removed "
            "them, or listed the id). Nothing was imported: import the file again, and their "
            "rows will be skipped."
        )


def store_pass(record, run: ImportPass, staging: StagingTable, notices: list[str], started: float):
    """Move the lines in and write the import's counts and summary; call inside
    transaction.atomic(). Raises ImportStopped when nothing was stored (and nothing was
    found already stored). Returns the times (read done, move done) for the import's log
    line."""
    read_done = time.monotonic()
    moved = staging.move(import_id=record.pk)
    _check_none_removed_meanwhile(record, run)
    if moved.inserted == 0 and moved.not_stored == 0:
        # Nothing stored, nothing found already stored: never a success (the caller's
        # transaction rolls back the customers' upsert, if any).
        raise ImportStopped(nothing_stored_message(run), run)
    ImportRejectedRow.objects.bulk_create(run.rejected, batch_size=2000)
    if run.contacts:
        run.contacts.store(workspace=record.workspace)
    reasons = dict(run.reasons)
    reasons["duplicate_in_file"] = moved.duplicate_in_file
    reasons["already_imported"] = moved.already_imported
    reasons["imported_returns"] = moved.returns
    reasons["imported_non_product"] = moved.non_product
    earlier = (
        ImportRecord.objects.in_workspace(record.workspace)
        .filter(sha256=record.sha256, status=ImportRecord.Status.SUCCEEDED)
        .exclude(pk=record.pk)
        .order_by("created_at")
        .first()
    )
    if earlier:
        notices.append(
            f"This file was already imported (import #{earlier.pk}); "
            f"{moved.inserted:,} new line{' was' if moved.inserted == 1 else 's were'} added."
        )
    elif moved.inserted == 0 and moved.staged:
        notices.append("Every line was already stored; nothing new was added.")
    if reasons.get("customer_id_from_email"):
        notices.append(
            "Customer ids that were e-mail addresses are stored as pseudonyms (“e-” and 16 "
            "letters and digits, the same for the same address in every file of this "
            "workspace), so ids show no personal data; the addresses are kept only as the "
            "customers' e-mail, when a column is mapped to it."
        )
    if run.rows_rejected > len(run.rejected):
        notices.append(
            f"{run.rows_rejected:,} rows were rejected; the first {len(run.rejected):,} are listed."
        )
    ImportRecord.objects.in_workspace(record.workspace).filter(pk=record.pk).update(
        status=ImportRecord.Status.SUCCEEDED,
        stage="done",
        progress=100,
        rows_read=run.rows_read,
        rows_imported=moved.inserted,
        rows_skipped=run.rows_skipped,
        rows_duplicate=moved.not_stored,
        rows_rejected=run.rows_rejected,
        customers_created=moved.customers_created,
        counts_by_reason={k: v for k, v in sorted(reasons.items()) if v},
        notices=notices,
        summary=import_summary(record, run, moved.totals),
        finished_at=timezone.now(),
        duration_seconds=time.monotonic() - started,
        error="",
    )
    return read_done, time.monotonic()
