"""A real worker process executes a real task (Redis in CI, the filesystem queue locally)."""

import pytest

from clustering.models import WorkerHeartbeat
from clustering.tasks import record_worker_heartbeat
from tests.conftest import require
from tests.worker_process import broker_reachable, celery_worker, purge_queue, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services, pytest.mark.slow]


def test_a_worker_process_reports_itself_and_answers_a_check():
    require(broker_reachable(), "the Celery broker (REDIS_URL)")
    purge_queue()
    with celery_worker(name="heartbeat") as worker:
        # At start the worker queues its own heartbeat: the dashboard shows it running
        # without anyone pressing "Check the worker".
        beat = wait_for(
            lambda: WorkerHeartbeat.objects.filter(hostname=worker.nodename).first(),
            timeout=60,
            what=f"a heartbeat from {worker.nodename}",
        )
        seen = beat.tasks_seen
        record_worker_heartbeat.delay()  # what "Check the worker" queues
        wait_for(
            lambda: WorkerHeartbeat.objects.filter(pk=beat.pk, tasks_seen__gt=seen).exists(),
            timeout=60,
            what="the heartbeat the check asked for",
        )
    assert "record_worker_heartbeat" in worker.log()
