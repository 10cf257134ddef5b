"""An upload through the page is imported by a real Celery worker process."""

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.importing import pipeline, progress
from customers.models import ImportRecord, TransactionLine
from tests.conftest import require
from tests.worker_process import broker_reachable, celery_worker, purge_queue, wait_for

from .conftest import ONLINE_RETAIL_SLICE

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services, pytest.mark.slow]


def test_page_upload_is_imported_by_the_worker(client_for):
    require(broker_reachable(), "the Celery broker (REDIS_URL)")
    purge_queue()
    client = client_for("manager")
    with celery_worker(name="imports") as worker:
        upload = SimpleUploadedFile("slice.csv", ONLINE_RETAIL_SLICE.read_bytes())
        response = client.post(reverse("customers:import-create"), {"file": upload})
        assert response.status_code == 302
        record = ImportRecord.unscoped.get()
        done = wait_for(
            lambda: ImportRecord.unscoped.filter(
                pk=record.pk, status__in=["succeeded", "failed"]
            ).first(),
            timeout=90,
            what="the worker to finish the import",
        )
        assert done.status == ImportRecord.Status.SUCCEEDED, (done.error, worker.log())
        status = client.get(reverse("customers:import-status", args=[record.pk])).json()
    assert status["progress"] == 100 and status["finished"]
    assert TransactionLine.unscoped.filter(import_record=record).count() == done.rows_imported > 0
    assert "process_import" in worker.log()


def test_progress_elsewhere_does_not_wait_for_each_write_and_raises_a_failed_one(monkeypatch):
    # The bulk load's progress goes through another connection's thread: the import goes on
    # while a write is under way, writes keep their order, closing waits for them, and a
    # write that failed is raised rather than lost.
    release = threading.Event()
    written = []

    def slow_progress(record, *, stage, percent):
        release.wait(timeout=10)
        if percent == 50:
            raise RuntimeError("progress write failed")
        written.append((stage, percent))

    monkeypatch.setattr(progress, "write_progress", slow_progress)
    monkeypatch.setattr(progress, "_close_own_connection", lambda: None)
    failed = pytest.raises(RuntimeError, match="progress write failed")
    with failed, progress.ProgressElsewhere() as elsewhere:
        elsewhere(None, stage="reading", percent=10)  # returns while the write waits
        elsewhere(None, stage="reading", percent=20)
        elsewhere(None, stage="reading", percent=50)
        elsewhere(None, stage="writing", percent=85)
        assert written == []
        release.set()
    assert written == [("reading", 10), ("reading", 20), ("writing", 85)]


def test_reader_stage_stops_when_the_import_stops_while_it_waits():
    # The import stops its reader (a failed COPY, say) while the reader waits for a slower
    # stage: the stage sees the stop and hands nothing more, and the reader must not wait
    # for it for ever (the import's stop() joins it).
    reader = pipeline.ChunkReader(None, None, None, None, {})
    first_taken = threading.Event()
    stage_may_go_on = threading.Event()

    def slow_stage():
        yield 1
        first_taken.wait(timeout=10)
        reader.stopped.wait(timeout=10)  # the stop comes meanwhile
        stage_may_go_on.wait(timeout=10)  # and the stage is still busy after it
        yield 2

    got = []

    def consume():
        for item in reader._in_thread(slow_stage(), "test-stage"):
            got.append(item)
            first_taken.set()

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    assert first_taken.wait(timeout=10)
    reader.stopped.set()
    consumer.join(timeout=5)
    stage_may_go_on.set()
    assert not consumer.is_alive()
    assert got == [1]
