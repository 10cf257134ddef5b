"""Celery tasks: thin, they take ids and call services; and each worker's reaper thread.

The reaper is a thread in each worker, not a scheduler: it needs only some living worker,
where a scheduler is one more process that must run exactly once
(docs/decisions/reaper-thread-in-each-worker.md). It also sends again what was committed
while the broker was down (runs_redispatch_undelivered, imports_redispatch_undelivered).
"""

import logging
import threading
import time

from celery import shared_task
from celery.signals import celeryd_after_setup, worker_process_init, worker_ready
from django.conf import settings
from django.db import connection

from common.outages import QueuedRowTask

from .movements import compare_warm, movements_warm
from .runs.fanout import fanout_finish, fanout_part, fanout_value
from .runs.recovery import run_mark_undelivered, runs_redispatch_undelivered
from .runs.threads import apply_worker_share
from .services import TRANSIENT_ERRORS, run_execute, runs_recover_stale, worker_heartbeat_record
from .signals import reaper_tick

logger = logging.getLogger(__name__)


@shared_task(bind=True, ignore_result=True, soft_time_limit=30, time_limit=60)
def record_worker_heartbeat(self) -> None:
    """A worker proves it consumes from the queue and can write to the database."""
    worker_heartbeat_record(hostname=self.request.hostname or "unknown")


class RunTask(QueuedRowTask):
    def record_undelivered(self, row_id: int) -> None:
        run_mark_undelivered(run_id=row_id)


#: Retries of a task that met a transient error (the database or the broker going away).
_RETRIED = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
}


@shared_task(
    bind=True,
    base=RunTask,
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=5,
    **_RETRIED,
)
def execute_segmentation_run(self, run_id: int) -> str:
    """Execute one segmentation run. Safe to deliver twice: the service guards the status."""
    runs_recover_stale()
    return run_execute(
        run_id=run_id, token=self.request.id or "", hostname=self.request.hostname or ""
    )


#: A part of a fanned-out run (clustering/runs/fanout.py). Its answer is kept for the chord's
#: join; a part whose worker dies is redone by the run's next execution.
_PART_OPTIONS = {
    "bind": True,
    "ignore_result": False,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "max_retries": 5,
    **_RETRIED,
}


@shared_task(**_PART_OPTIONS)
def fit_run_part(self, run_id: int, token: str, key: str, number: int) -> dict:
    """Fit one candidate part of a fanned-out run."""
    return fanout_part(run_id=run_id, token=token, key=key, number=number)


@shared_task(**_PART_OPTIONS)
def fit_run_value(self, run_id: int, token: str, key: str) -> dict:
    """The value stage of a fanned-out run, beside its candidate parts."""
    return fanout_value(run_id=run_id, token=token, key=key)


@shared_task(**_PART_OPTIONS)
def finish_fanned_out_run(self, results: list, run_id: int, token: str, key: str) -> str:
    """The chord's join: choose, profile and store a fanned-out run."""
    return fanout_finish(results=results, run_id=run_id, token=token, key=key)


@shared_task(bind=True, ignore_result=True, acks_late=True, max_retries=3, **_RETRIED)
def warm_movements(self, workspace_id: int, publication_id: int) -> str:
    """Compute a new publication's movements into the cache, so that no page waits for them
    (queued by run_publish once the publication commits). Idempotent."""
    return movements_warm(workspace_id=workspace_id, publication_id=publication_id)


@shared_task(bind=True, ignore_result=True, acks_late=True, max_retries=3, **_RETRIED)
def warm_compare(self, workspace_id: int) -> str:
    """Compute the compare page's default pair into the cache once a run succeeds (queued by
    the run's store once it commits). Idempotent."""
    return compare_warm(workspace_id=workspace_id)


def _report_alive() -> None:
    """Queue a heartbeat: whichever worker consumes it shows as running on the dashboard."""
    try:
        record_worker_heartbeat.delay()
    except Exception:
        logger.exception("queueing a worker heartbeat failed")


#: The reaper deletes expired uploaded files at most this often (seconds): files are kept for
#: days, so an hour late is nothing, and every tick would query the imports for nothing.
PRUNE_EVERY_SECONDS = 3600
_last_prune: list[float] = []  # monotonic time of this process's last prune


def _prune_uploaded_files() -> None:
    from customers.tasks import import_files_prune_expired

    now = time.monotonic()
    if _last_prune and now - _last_prune[0] < PRUNE_EVERY_SECONDS:
        return
    _last_prune[:] = [now]
    import_files_prune_expired()


def _recover_stale_runs() -> None:
    """Re-queue runs whose worker died, and send again the runs and imports whose message
    the broker could not take when they were committed (marked by their task's publish; see
    common/outages.py); delete the uploaded files kept past their days. Outside a task, so a
    failure is logged, not raised, and the connection is closed (the reaper thread's would
    otherwise stay open)."""
    from customers.tasks import imports_redispatch_undelivered

    steps = (
        runs_recover_stale,
        runs_redispatch_undelivered,
        imports_redispatch_undelivered,
        _prune_uploaded_files,
    )
    for step in steps:
        try:
            step()
        except Exception:
            logger.exception("reaper: %s failed", step.__name__)
    for receiver, outcome in reaper_tick.send_robust(sender=None):
        if isinstance(outcome, Exception):
            logger.error("reaper: %r failed: %r", receiver, outcome)
    connection.close()


def _reap_forever(stop: threading.Event, interval: float, heartbeat_interval: float) -> None:
    last_beat = time.monotonic()
    while not stop.wait(interval):
        if time.monotonic() - last_beat >= heartbeat_interval:
            last_beat = time.monotonic()
            _report_alive()
        _recover_stale_runs()


@worker_ready.connect
def _start_run_reaper(sender=None, **kwargs) -> None:
    """Each worker reports itself through the queue (so the dashboard shows a running worker
    without anyone pressing "Check the worker") and re-queues runs whose worker died, at start
    and then periodically."""
    _report_alive()
    _recover_stale_runs()
    interval = getattr(settings, "RUN_REAPER_INTERVAL_SECONDS", 30)
    heartbeat_interval = getattr(settings, "WORKER_HEARTBEAT_SECONDS", 120)
    stop = threading.Event()
    threading.Thread(
        target=_reap_forever,
        args=(stop, interval, heartbeat_interval),
        daemon=True,
        name="run-reaper",
    ).start()


#: The worker's concurrency, recorded in the main process before its pool forks.
_CONCURRENCY: list[int] = []


@celeryd_after_setup.connect
def _record_concurrency(sender=None, instance=None, **kwargs) -> None:
    _CONCURRENCY[:] = [int(getattr(instance, "concurrency", 0) or 1)]


@worker_process_init.connect
def _limit_blas_threads(**kwargs) -> None:
    """Each pool process uses the cores its worker's concurrency leaves it."""
    apply_worker_share(_CONCURRENCY[0] if _CONCURRENCY else 1)
