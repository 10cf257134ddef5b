"""Start a real Celery worker process against the test database, for tests that need one.

On the embedded default it consumes from kombu's filesystem transport; with REDIS_URL set
(CI) it consumes from Redis. Tests using it must be `django_db(transaction=True)` so the
worker sees committed rows.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def broker_reachable() -> bool:
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        return True
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    nodename: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children), as a crash would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def purge_queue() -> None:
    from segmentation_site.celery import app

    with contextlib.suppress(Exception):
        app.control.purge()


@contextlib.contextmanager
def celery_process(
    command: list[str], *, nodename: str, ready_marker: str, ready_timeout: float
) -> Iterator[WorkerProcess]:
    """A `celery -A segmentation_site <command>` process on the test database, logged to
    TEST_OUTPUT_DIR, yielded once its log shows `ready_marker`, stopped afterwards."""
    kind = command[0]
    log_dir = Path(settings.TEST_OUTPUT_DIR)
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{kind}-{nodename.split('@')[0]}.log"
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "segmentation_site.settings.test"
    env["TEST_WORKER_DB_NAME"] = str(connection.settings_dict["NAME"])
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "segmentation_site", *command],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so kill() reaches the pool too
        )
    started = WorkerProcess(process=process, nodename=nodename, log_path=log_path)
    try:
        deadline = time.monotonic() + ready_timeout
        while ready_marker not in started.log():
            if process.poll() is not None:
                raise RuntimeError(f"{kind} exited with {process.returncode}:\n{started.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind} not ready in {ready_timeout} s:\n{started.log()}")
            time.sleep(0.2)
        yield started
    finally:
        started.stop()


@contextlib.contextmanager
def celery_worker(
    *, name: str | None = None, concurrency: int = 1, ready_timeout: float = 90
) -> Iterator[WorkerProcess]:
    nodename = f"{name or 'test'}-{uuid.uuid4().hex[:6]}@localhost"
    command = [
        "worker",
        "--loglevel=INFO",
        f"--concurrency={concurrency}",
        "--pool=prefork",
        "--without-gossip",
        "--without-mingle",
        "-n",
        nodename,
    ]
    with celery_process(
        command, nodename=nodename, ready_marker=" ready.", ready_timeout=ready_timeout
    ) as worker:
        yield worker


def wait_for(predicate, *, timeout: float = 60, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
