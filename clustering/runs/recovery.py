"""Recovery of runs no worker is executing: the reaper's work, called by every worker
(clustering/tasks.py).

Two cases: a run whose worker died (running, heartbeat stale) and a run whose message
never reached the broker (queued, stage WAITING_FOR_THE_QUEUE: the task's publish marked it
when the broker was down; docs/decisions/reaper-thread-in-each-worker.md). The reaper
looks after every workspace's runs, so it reads them with ``SegmentationRun.unscoped``.
"""

from __future__ import annotations

import logging

from django.db import transaction

from common.outages import WAITING_FOR_THE_QUEUE

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
        stale = SegmentationRun.unscoped.select_for_update(skip_locked=True).filter(
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


def run_mark_undelivered(*, run_id: int) -> None:
    """Its message could not be sent: the reaper sends it again once the broker is back."""
    SegmentationRun.unscoped.filter(pk=run_id, status=Status.QUEUED).update(
        stage=WAITING_FOR_THE_QUEUE
    )


def runs_redispatch_undelivered() -> list[int]:
    """Send again the queued runs whose message never reached the broker, once each.

    Each message goes out inside its row's lock and the mark is cleared only if it went: a
    broker still down leaves the run marked for the next pass (the error goes to the caller),
    and a worker that receives it first waits for the lock, then finds the run queued.
    """
    from ..tasks import execute_segmentation_run

    waiting = SegmentationRun.unscoped.filter(status=Status.QUEUED, stage=WAITING_FOR_THE_QUEUE)
    sent: list[int] = []
    for run_id in list(waiting.values_list("pk", flat=True)[:100]):
        with transaction.atomic():
            run = waiting.select_for_update(skip_locked=True).filter(pk=run_id).first()
            if run is None:  # taken meanwhile, or another worker's reaper holds it
                continue
            execute_segmentation_run.delay(run.pk)
            run.stage = "queued"
            run.save(update_fields=["stage"])
        sent.append(run_id)
    if sent:
        logger.warning("runs %s: the broker is back; queued again", sent)
    return sent
