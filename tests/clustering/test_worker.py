"""A real worker process executes a real task (Redis in CI, the filesystem queue locally)."""

import pytest

from clustering.models import WorkerHeartbeat
from clustering.tasks import record_worker_heartbeat
from tests.conftest import require
from tests.worker_process import broker_reachable, celery_worker, purge_queue, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services, pytest.mark.slow]


def test_a_worker_process_consumes_a_task_and_writes_to_the_database():
    require(broker_reachable(), "the Celery broker (REDIS_URL)")
    purge_queue()
    with celery_worker(name="heartbeat") as worker:
        record_worker_heartbeat.delay()
        beat = wait_for(
            lambda: WorkerHeartbeat.objects.filter(hostname=worker.nodename).first(),
            timeout=60,
            what=f"a heartbeat from {worker.nodename}",
        )
        record_worker_heartbeat.delay()
        wait_for(
            lambda: WorkerHeartbeat.objects.filter(pk=beat.pk, tasks_seen=2).exists(),
            timeout=60,
            what="a second heartbeat",
        )
    assert "record_worker_heartbeat" in worker.log()
