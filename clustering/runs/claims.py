"""Which execution owns a run, and how an execution ends.

An execution claims a run with a token under select_for_update; every later write checks
the token, so a second delivery of the same run, or a worker that lost the run to the
reaper, changes nothing. The worker knows the run only by its id, so the claim reads it
with ``SegmentationRun.unscoped``; the claim then carries the run's workspace, and every
later read of the execution is scoped by it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import SegmentationRun
from ..signals import run_finished

logger = logging.getLogger(__name__)
Status = SegmentationRun.Status


class ClaimLost(Exception):
    """Another worker took the run over, or it was finished elsewhere: stop quietly."""


@dataclass
class Claim:
    run_id: int
    token: str
    workspace_id: int

    def runs(self):
        """The runs of the claimed run's workspace."""
        return SegmentationRun.objects.in_workspace(self.workspace_id)


def setting(name: str, default):
    return getattr(settings, name, default)


def new_claim_token() -> str:
    return uuid.uuid4().hex


def stale_before() -> datetime:
    """Runs whose heartbeat is older than this have lost their worker."""
    return timezone.now() - timedelta(seconds=setting("RUN_STALE_AFTER_SECONDS", 60))


def run_claim(*, run_id: int, token: str, hostname: str) -> Claim | None:
    """Take the run for this execution, or None when there is nothing to do.

    The status guard under select_for_update makes a second execution (a duplicate message,
    a redelivery after a crash, two workers at once) a no-op while the first one is alive.
    """
    with transaction.atomic():
        run = SegmentationRun.unscoped.select_for_update().get(pk=run_id)
        if run.is_finished:
            return None
        if run.cancel_requested:
            finish(run, Status.CANCELLED, "Cancelled before it started.")
            return None
        alive = run.heartbeat_at is not None and run.heartbeat_at >= stale_before()
        if run.status == Status.RUNNING and alive and run.claim_token != token:
            logger.info("run %s is being executed by %s; skipping", run_id, run.worker_hostname)
            return None
        if out_of_attempts(run):
            give_up(
                run,
                advice=" Check the worker's memory and time limits, then start a new run.",
            )
            return None
        now = timezone.now()
        run.status = Status.RUNNING
        run.attempts += 1
        run.claim_token = token
        run.worker_hostname = hostname
        run.heartbeat_at = now
        run.started_at = run.started_at or now
        run.stage = "starting"
        run.progress = 0
        run.error = ""
        run.save()
    return Claim(run_id, token, run.workspace_id)


def fail_unstarted(run_id: int, error: Exception) -> None:
    """A queued run that could not even be claimed (known by its id only) fails with why."""
    failed = SegmentationRun.unscoped.filter(pk=run_id, status=Status.QUEUED).update(
        status=Status.FAILED,
        stage=Status.FAILED,
        error=f"Could not start: {type(error).__name__}: {error}"[:2000],
        finished_at=timezone.now(),
    )
    if failed:
        announce_finished(SegmentationRun.unscoped.get(pk=run_id))


def out_of_attempts(run: SegmentationRun) -> bool:
    return run.attempts >= setting("RUN_MAX_ATTEMPTS", 3)


def give_up(run: SegmentationRun, *, advice: str = "") -> None:
    """Fail a run whose workers kept stopping, saying where the last one stopped."""
    finish(
        run,
        Status.FAILED,
        f"Gave up after {run.attempts} attempts: the worker executing this run stopped "
        f"unexpectedly (last on {run.worker_hostname or 'an unknown host'} at stage "
        f"'{run.stage}').{advice}",
    )


def finish(run: SegmentationRun, status: str, error: str = "") -> None:
    run.status = status
    run.error = error
    run.stage = status
    run.finished_at = timezone.now()
    run.claim_token = ""
    run.save()
    announce_finished(run)


def announce_finished(run: SegmentationRun) -> None:
    """Tell run_finished's receivers once the run's end has committed."""
    transaction.on_commit(lambda: run_finished.send(sender=SegmentationRun, run=run), robust=True)


def finish_claimed(claim: Claim, status: str, error: str) -> bool:
    """Record the end of our execution, unless the run is no longer ours."""
    with transaction.atomic():
        run = claim.runs().select_for_update().get(pk=claim.run_id)
        if run.claim_token != claim.token or run.status != Status.RUNNING:
            return False
        finish(run, status, error)
        return True


def claim_resume(*, run_id: int, token: str) -> Claim | None:
    """The claim of an execution that goes on in another task (a fanned-out run's parts and
    its finish), or None when the run is no longer that execution's (taken over by the
    reaper, cancelled, failed by another part). Resuming beats the heartbeat: a run whose
    tasks are short (parts already fitted before a takeover) must not look dead."""
    if not token:
        return None
    mine = SegmentationRun.unscoped.filter(pk=run_id, claim_token=token, status=Status.RUNNING)
    if not mine.update(heartbeat_at=timezone.now()):
        return None
    workspace_id = mine.values_list("workspace_id", flat=True).first()
    return None if workspace_id is None else Claim(run_id, token, workspace_id)


def run_is_finished(run_id: int) -> bool:
    """Whether the run has ended (for cleaning up after an execution that lost it)."""
    return SegmentationRun.unscoped.filter(
        pk=run_id, status__in=SegmentationRun.FINISHED_STATUSES
    ).exists()
