"""Start a real Celery beat process (django-celery-beat's DatabaseScheduler) against the test
database, beside a worker from tests/worker_process.py. Tests using it must be
`django_db(transaction=True)` so beat reads the committed periodic tasks."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import connection

from tests.worker_process import ROOT, WorkerProcess


@contextlib.contextmanager
def celery_beat(*, max_interval: float = 1, ready_timeout: float = 60) -> Iterator[WorkerProcess]:
    """One beat process; `max_interval` is how often (seconds) it looks at the schedule."""
    log_dir = Path(settings.TEST_OUTPUT_DIR)
    log_dir.mkdir(parents=True, exist_ok=True)
    name = f"beat-{uuid.uuid4().hex[:6]}"
    log_path = log_dir / f"{name}.log"
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "segmentation_site.settings.test"
    env["TEST_WORKER_DB_NAME"] = str(connection.settings_dict["NAME"])
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "segmentation_site",
                "beat",
                "--loglevel=DEBUG",
                "-S",
                "django_celery_beat.schedulers:DatabaseScheduler",
                f"--max-interval={max_interval}",
                "--pidfile=",
            ],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    beat = WorkerProcess(process=process, nodename=name, log_path=log_path)
    try:
        deadline = time.monotonic() + ready_timeout
        while "beat: Starting..." not in beat.log():
            if process.poll() is not None:
                raise RuntimeError(f"beat exited with {process.returncode}:\n{beat.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"beat not started in {ready_timeout} s:\n{beat.log()}")
            time.sleep(0.2)
        yield beat
    finally:
        beat.stop()
