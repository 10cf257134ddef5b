"""Heartbeats: a running run's, refreshed by a thread while the engine works, and a worker's,
recorded by a task any worker consumes (the dashboard's "is a worker running?")."""

from __future__ import annotations

import logging
import threading

from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone

from ..models import SegmentationRun, WorkerHeartbeat
from .claims import Claim, setting

logger = logging.getLogger(__name__)
Status = SegmentationRun.Status


class RunHeartbeat(threading.Thread):
    """Keeps the run's heartbeat fresh while the engine works, so a dead worker is noticed."""

    def __init__(self, claim: Claim) -> None:
        super().__init__(daemon=True, name=f"run-{claim.run_id}-heartbeat")
        self.claim = claim
        self.stopped = threading.Event()
        self.lost = threading.Event()

    def run(self) -> None:
        interval = setting("RUN_HEARTBEAT_SECONDS", 5)
        try:
            while not self.stopped.wait(interval):
                try:
                    updated = (
                        self.claim.runs()
                        .filter(
                            pk=self.claim.run_id,
                            claim_token=self.claim.token,
                            status=Status.RUNNING,
                        )
                        .update(heartbeat_at=timezone.now())
                    )
                except DatabaseError:
                    logger.warning("heartbeat of run %s failed", self.claim.run_id, exc_info=True)
                    continue
                if not updated:
                    self.lost.set()
                    return
        finally:
            connection.close()


def worker_heartbeat_record(*, hostname: str) -> WorkerHeartbeat:
    """Record that a worker is alive; called by the worker itself."""
    with transaction.atomic():
        beat, created = WorkerHeartbeat.objects.select_for_update().get_or_create(
            hostname=hostname, defaults={"seen_at": timezone.now(), "tasks_seen": 1}
        )
        if not created:
            WorkerHeartbeat.objects.filter(pk=beat.pk).update(
                seen_at=timezone.now(), tasks_seen=F("tasks_seen") + 1
            )
            beat.refresh_from_db()
    return beat


def worker_ping_request() -> None:
    """Queue a heartbeat task once the current transaction commits."""
    from ..tasks import record_worker_heartbeat

    record_worker_heartbeat.delay_on_commit()
