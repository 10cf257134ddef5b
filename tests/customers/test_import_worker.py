"""An upload through the page is imported by a real Celery worker process."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

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
        record = ImportRecord.objects.get()
        done = wait_for(
            lambda: ImportRecord.objects.filter(
                pk=record.pk, status__in=["succeeded", "failed"]
            ).first(),
            timeout=90,
            what="the worker to finish the import",
        )
        assert done.status == ImportRecord.Status.SUCCEEDED, (done.error_message, worker.log())
        status = client.get(reverse("customers:import-status", args=[record.pk])).json()
    assert status["percent"] == 100 and status["finished"]
    assert TransactionLine.objects.filter(import_record=record).count() == done.rows_imported > 0
    assert "process_import" in worker.log()
