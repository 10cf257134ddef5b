"""Lines sent as JSON (POST /api/v1/transactions/): checked by the file import's own rules
and stored the way a file's lines are, all or none."""

from __future__ import annotations

import contextlib
import hashlib
import json
import zoneinfo
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone

from transaction_files.normalise import SKIPPED_ON_PURPOSE, Normaliser

from .importing.bounds import import_bounds
from .importing.outcomes import import_summary
from .importing.staging import MoveCounts, StagingTable
from .kept_out import kept_out_customer_ids, kept_out_meanwhile
from .models import ImportRecord


class KeptOutMeanwhile(Exception):
    """A customer of the lines was removed and kept out while they were stored: nothing was
    stored, and the same request sent again skips their lines."""


class RowsInvalid(Exception):
    def __init__(self, rows: list[dict], total: int):
        super().__init__(f"{len(rows)} invalid rows")
        self.rows = rows
        self.total = total


@dataclass
class BulkResult:
    import_record: ImportRecord
    received: int
    moved: MoveCounts
    skipped: int = 0


def _text(value) -> str | None:
    if value is None:
        return None
    return repr(value) if isinstance(value, float) else str(value)


def _wall_clock(value, tz) -> str:
    """The time as the file import reads it: local wall-clock time, to the second, with a
    four-digit year (strftime writes year 1 as "1"), so the shared bounds judge it."""
    with contextlib.suppress(OverflowError):  # within a day of year 1 or 9999: as given
        value = timezone.localtime(value, tz)
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")


def transaction_lines_create(
    *,
    workspace,
    lines: list[dict],
    user,
    indices: list[int] | None = None,
    earlier_errors: list[dict] | tuple = (),
) -> BulkResult:
    """Store lines sent as JSON (already type-checked) into `workspace`, all or none; their
    times are read as the workspace's local times, as a file's are.

    The file import's Normaliser applies its rules (dates, number ranges, text lengths,
    a unit price or an amount; return and fee flags) and its staging table hashes and moves
    the lines, so API lines and file lines are stored identically. Raises RowsInvalid
    with every rejected line (index, field, message). `indices` are the lines' positions in
    the request; `earlier_errors` are rows the caller already rejected (then nothing is
    stored, but these lines are still checked so every bad line is reported at once).
    """
    tz = zoneinfo.ZoneInfo(workspace.time_zone)
    received_at = timezone.now()
    kept_out = kept_out_customer_ids(workspace=workspace)
    if not lines:
        raise RowsInvalid(list(earlier_errors), len({r["index"] for r in earlier_errors}))
    frame = pd.DataFrame(
        {
            "customer_id": [line["customer_id"] for line in lines],
            "timestamp": [_wall_clock(line["timestamp"], tz) for line in lines],
            "invoice": [line["invoice"] for line in lines],
            "quantity": [_text(line["quantity"]) for line in lines],
            "unit_price": [_text(line.get("unit_price")) for line in lines],
            "amount": [_text(line.get("amount")) for line in lines],
            "product_code": [line.get("product_code", "") for line in lines],
            "description": [line.get("description", "") for line in lines],
            "country": [line.get("country", "") for line in lines],
        },
        dtype=object,
    )
    normaliser = Normaliser(
        mapping={name: name for name in frame.columns},
        date_order="iso",
        time_zone=workspace.time_zone,
        bounds=import_bounds(),
        uploaded_at=received_at,
        pseudonym_key=workspace.pseudonym_key,
        kept_customer_ids=workspace.kept_customer_ids,
        kept_out_customer_ids=kept_out,
    )
    positions = np.arange(len(frame)) if indices is None else np.asarray(indices, dtype=int)
    result = normaliser.run(frame, positions)
    # Lines left out on purpose (a guest sale's id, a customer kept out) are counted, not
    # refused: a till's daily sync sends them along with the rest.
    skipped = {k: n for k, n in result.reasons.items() if k in SKIPPED_ON_PURPOSE and n}
    left_out = sum(skipped.values())
    if earlier_errors or result.rejections or len(result.lines) + left_out != len(lines):
        rows = list(earlier_errors) + [
            {"index": r.line_number, "field": r.column, "message": r.message}
            for r in result.rejections
        ]
        raise RowsInvalid(rows, len(lines) + len({r["index"] for r in earlier_errors}))

    digest = hashlib.sha256(
        json.dumps(lines, default=str, sort_keys=True).encode(), usedforsecurity=False
    ).hexdigest()
    staging = None
    try:
        with transaction.atomic():
            record = ImportRecord.objects.create(
                workspace=workspace,
                file_name=f"API: {len(lines)} lines",
                sha256=digest,
                uploaded_by=user,
                status=ImportRecord.Status.RUNNING,
                stage="writing",
                started_at=timezone.now(),
                mapping={name: name for name in frame.columns},
                columns=list(frame.columns),
                rows_read=len(lines),
                rows_skipped=left_out,
            )
            staging = StagingTable(record.pk, workspace_id=workspace.pk)
            staging.add(result.lines)
            moved = staging.move(import_id=record.pk)
            back = kept_out_meanwhile(
                workspace=workspace, before=kept_out, import_record_id=record.pk
            )
            if back:  # rolls the lines back
                raise KeptOutMeanwhile(
                    f"While these lines were stored, a manager kept customer "
                    f"{', '.join(back)} out of imports. Nothing was stored: "
                    "send the lines again, and theirs will be skipped."
                )
            record.status = ImportRecord.Status.SUCCEEDED
            record.stage = "done"
            record.progress = 100
            record.rows_imported = moved.inserted
            record.rows_duplicate = moved.not_stored
            record.customers_created = moved.customers_created
            record.counts_by_reason = {
                k: v
                for k, v in {
                    **skipped,
                    "duplicate_in_file": moved.duplicate_in_file,
                    "already_imported": moved.already_imported,
                }.items()
                if v
            }
            record.notices = ["Sent as JSON to POST /api/v1/transactions/."]
            record.summary = import_summary(record)
            record.finished_at = timezone.now()
            record.duration_seconds = (record.finished_at - record.started_at).total_seconds()
            record.save()
    finally:
        if staging is not None:
            staging.drop()
    return BulkResult(record, len(lines), moved, left_out)
