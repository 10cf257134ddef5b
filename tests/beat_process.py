"""Start a real Celery beat process (django-celery-beat's DatabaseScheduler) against the test
database, beside a worker from tests/worker_process.py. Tests using it must be
`django_db(transaction=True)` so beat reads the committed periodic tasks."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

from tests.worker_process import WorkerProcess, celery_process


@contextlib.contextmanager
def celery_beat(*, max_interval: float = 1, ready_timeout: float = 60) -> Iterator[WorkerProcess]:
    """One beat process; `max_interval` is how often (seconds) it looks at the schedule."""
    command = [
        "beat",
        "--loglevel=DEBUG",
        "-S",
        "django_celery_beat.schedulers:DatabaseScheduler",
        f"--max-interval={max_interval}",
        "--pidfile=",
    ]
    with celery_process(
        command,
        nodename=f"beat-{uuid.uuid4().hex[:6]}",
        ready_marker="beat: Starting...",
        ready_timeout=ready_timeout,
    ) as beat:
        yield beat
