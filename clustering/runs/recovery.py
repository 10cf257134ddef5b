"""Recovery of runs whose worker died: the reaper's work, called by every worker
(clustering/tasks.py)."""

from __future__ import annotations

import logging

from django.db import transaction

from ..models import SegmentationRun
from .claims import give_up, out_of_attempts, stale_before
from .lifecycle import enqueue_on_commit

logger = logging.getLogger(__name__)
Status = SegmentationRun.Status


def runs_recover_stale() -> list[int]:
    """Re-queue runs whose worker stopped beating (killed, out of memory, machine lost).

    Runs that already used their attempts are marked failed with the reason. Safe to call
    from several workers at once.
    """
    requeued: list[int] = []
    with transaction.atomic():
        stale = SegmentationRun.objects.select_for_update(skip_locked=True).filter(
            status=Status.RUNNING, heartbeat_at__lt=stale_before()
        )
        for run in stale:
            if out_of_attempts(run):
                give_up(run)
                continue
            logger.warning(
                "run %s: worker %s stopped beating at stage %s; re-queueing",
                run.pk,
                run.worker_hostname,
                run.stage,
            )
            run.status = Status.QUEUED
            run.stage = "re-queued after a worker stopped"
            run.claim_token = ""
            run.heartbeat_at = None
            run.save()
            enqueue_on_commit(run.pk)
            requeued.append(run.pk)
    return requeued
