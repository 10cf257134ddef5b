"""The worker's side of imports. A task gets an import's id only, so it loads the import
with `unscoped` and then works in the workspace the import belongs to; the reaper's resend
spans workspaces on purpose (it serves every shop's queued imports)."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from common.outages import WAITING_FOR_THE_QUEUE, QueuedRowTask

from .models import ImportRecord
from .services import (
    FINISHED_STATUSES,
    import_files_prune,
    import_record_fail,
    import_record_process,
    import_record_read_file,
    import_records_expire_waiting,
)

logger = logging.getLogger(__name__)
MAX_RETRIES = 3
# An import waits for a worker while its file is still to be read or it is queued.
WAITING_STATUSES = [ImportRecord.Status.READING, ImportRecord.Status.QUEUED]


class ImportTask(QueuedRowTask):
    def record_undelivered(self, row_id: int) -> None:
        import_mark_undelivered(import_record_id=row_id)


@shared_task(
    bind=True, base=ImportTask, ignore_result=True, acks_late=True, max_retries=MAX_RETRIES
)
def process_import(self, import_record_id: int) -> None:
    """Read an uploaded file and store its lines (see import_record_process). An import still
    reading (a workbook) first has its header read here (import_record_read_file); it goes
    on at once when that queues it (a recognised header, a remembered layout).

    A bad file fails the same way twice, so only a lost database connection is retried, with
    backoff. A worker lost mid-import is redelivered (acks_late); the service starts that
    import over, since nothing of it was committed. A message the broker could not take marks
    the import (ImportTask); the workers' reaper sends it again (imports_redispatch_undelivered).
    """
    record = ImportRecord.unscoped.filter(pk=import_record_id).select_related("workspace").first()
    if record is None:  # deleted (with its workspace) since it was queued
        logger.warning("import %s: no longer exists; nothing to do", import_record_id)
        return
    try:
        if record.status == ImportRecord.Status.READING:
            record = import_record_read_file(
                workspace=record.workspace, import_record_id=import_record_id
            )
            if record.status != ImportRecord.Status.QUEUED:
                return  # waits for its mapping, or failed with its message
        import_record_process(workspace=record.workspace, import_record_id=import_record_id)
    except (OperationalError, InterfaceError) as exc:
        if self.request.retries >= MAX_RETRIES:
            import_record_fail(
                workspace=record.workspace,
                import_record_id=import_record_id,
                message="The database could not be reached; nothing was imported. "
                "Upload the file again later.",
            )
            return
        raise self.retry(exc=exc, countdown=10 * 2**self.request.retries) from exc


def import_mark_undelivered(*, import_record_id: int) -> None:
    """Its message could not be sent: the reaper sends it again once the broker is back.
    Only the id is known here (the message's argument), hence `unscoped`."""
    ImportRecord.unscoped.filter(pk=import_record_id, status__in=WAITING_STATUSES).update(
        stage=WAITING_FOR_THE_QUEUE
    )


def imports_redispatch_undelivered() -> list[int]:
    """Send again the waiting imports whose message never reached the broker, once each.

    Only imports marked when their publish failed: a queued import may legitimately wait
    behind others, and a second message for one already running would read it twice. Each
    message goes out inside its row's lock and the mark is cleared only if it went. Every
    workspace's imports: the workers serve them all.
    """
    waiting = ImportRecord.unscoped.filter(status__in=WAITING_STATUSES, stage=WAITING_FOR_THE_QUEUE)
    sent: list[int] = []
    for record_id in list(waiting.values_list("pk", flat=True)[:100]):
        with transaction.atomic():
            record = waiting.select_for_update(skip_locked=True).filter(pk=record_id).first()
            if record is None:
                continue
            process_import.delay(record.pk)
            record.stage = ""
            record.save(update_fields=["stage"])
        sent.append(record_id)
    if sent:
        logger.warning("imports %s: the broker is back; queued again", sent)
    return sent


def import_files_prune_expired() -> int:
    """Delete, in every workspace, the uploaded files of imports finished more than
    IMPORT_FILES_KEEP_DAYS ago (0: never), and give up on imports left waiting for their
    mapping that long: the files hold customers' contact details, which a person may have
    asked to erase. Called by the workers' reaper; returns the imports whose file went."""
    days = settings.IMPORT_FILES_KEEP_DAYS
    if days <= 0:
        return 0
    from workspaces.models import Workspace

    kept, cutoff = timedelta(days=days), timezone.now() - timedelta(days=days)
    records = ImportRecord.unscoped
    holding = records.filter(status__in=FINISHED_STATUSES, finished_at__lt=cutoff).exclude(
        file=""
    ) | records.filter(status=ImportRecord.Status.NEEDS_MAPPING, created_at__lt=cutoff)
    deleted = 0
    for workspace in Workspace.objects.filter(pk__in=holding.values("workspace_id")):
        abandoned = import_records_expire_waiting(workspace=workspace, older_than=kept)
        pruned = import_files_prune(workspace=workspace, older_than=kept).files + abandoned
        if pruned:
            logger.info(
                "deleted %s uploaded file(s) of workspace %s kept over %s days (%s of imports "
                "never mapped)",
                pruned,
                workspace.slug,
                days,
                abandoned,
            )
        deleted += pruned
    return deleted
