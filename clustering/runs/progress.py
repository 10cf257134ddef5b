"""The engine's progress and cancel callbacks, written to and read from the run row."""

from __future__ import annotations

import time

from django.db import connection, transaction
from django.utils import timezone

from ..models import SegmentationRun
from .claims import Claim, ClaimLost
from .heartbeat import RunHeartbeat

Status = SegmentationRun.Status


class RunProgress:
    """Called by the engine with (stage, percent); ``should_cancel`` is its cancel check."""

    # At most one write (and one cancel check) per interval, plus one per phase: the engine
    # reports every candidate and each write is a commit (docs/performance.md).
    INTERVAL = 0.5

    def __init__(self, claim: Claim, heartbeat: RunHeartbeat) -> None:
        self.claim = claim
        self.heartbeat = heartbeat
        self.last_write = 0.0
        self.last_stage = ""
        self.last_check = float("-inf")  # the first call always asks
        self.cancel_requested = False

    def _mine(self):
        return self.claim.runs().filter(
            pk=self.claim.run_id, claim_token=self.claim.token, status=Status.RUNNING
        )

    def __call__(self, stage: str, percent: float) -> None:
        now = time.monotonic()
        phase = stage.split(":", 1)[0]  # "candidates:kmeans k=3" is phase "candidates"
        if (
            phase == self.last_stage.split(":", 1)[0]
            and now - self.last_write < self.INTERVAL
            and percent < 100
        ):
            return
        # Progress is a hint for the page: its own commit need not wait for the disk (a
        # crash loses at most the last fraction of a second of it). Never inside a caller's
        # transaction, which SET LOCAL would reach too.
        asynchronous = connection.vendor == "postgresql" and not connection.in_atomic_block
        with transaction.atomic():
            if asynchronous:
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            updated = self._mine().update(
                stage=stage[:40],
                progress=max(0.0, min(100.0, float(percent))),
                heartbeat_at=timezone.now(),
            )
        if not updated:
            raise ClaimLost
        self.last_write, self.last_stage = now, stage

    def should_cancel(self) -> bool:
        if self.heartbeat.lost.is_set():
            raise ClaimLost
        now = time.monotonic()
        if now - self.last_check < self.INTERVAL:
            return self.cancel_requested
        row = self._mine().values_list("cancel_requested", flat=True).first()
        if row is None:
            raise ClaimLost
        self.last_check, self.cancel_requested = now, bool(row)
        return self.cancel_requested
