"""Broker or cache down: 503 with Retry-After where the request needs them, pages that do not
keep working, and what was committed meanwhile is sent once the broker is back (issue 23,
finding 4)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from kombu.exceptions import OperationalError

from clustering.models import SegmentationRun
from clustering.runs.recovery import runs_redispatch_undelivered
from common.outages import RETRY_AFTER_SECONDS, WAITING_FOR_THE_QUEUE
from customers.models import ImportRecord
from customers.tasks import imports_redispatch_undelivered

CLOSED_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def cache_down(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": CLOSED_REDIS}
    }


@pytest.fixture
def broker_down(monkeypatch):
    """Every publish fails as kombu fails when Redis refuses the connection."""
    from segmentation_site.celery import app

    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(app, "send_task", refuse)


@pytest.fixture
def sent(monkeypatch):
    """Publishes succeed and are recorded (the broker is back)."""
    from segmentation_site.celery import app

    messages = []

    def record(name, args=None, kwargs=None, *more, **options):
        messages.append((name.rsplit(".", 1)[-1], tuple(args or ())))

    monkeypatch.setattr(app, "send_task", record)
    return messages


def assert_unavailable(response):
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    body = response.json()
    assert body["status"] == 503
    assert body["code"] == "unavailable"
    assert "unavailable" in body["detail"]
    assert body["fields"] == {}


# ------------------------------------------------------------------------- cache down
@pytest.mark.django_db
def test_token_creation_with_the_cache_down_is_503(make_user, cache_down):
    make_user("manager", username="carol", password="right-password-3")
    response = Client().post(
        reverse("api-token-create"),
        {"username": "carol", "password": "right-password-3"},
        content_type="application/json",
    )
    assert_unavailable(response)


@pytest.mark.django_db
def test_predict_with_the_cache_down_is_503(client_for, cache_down):
    response = client_for("marketing").post(
        reverse("api-predict"), {"customer_id": "17850"}, content_type="application/json"
    )
    assert_unavailable(response)


@pytest.mark.django_db
def test_pages_that_need_no_cache_keep_working(client_for, cache_down):
    client = client_for("manager")
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("customers:import-list")).status_code == 200
    assert Client().get(reverse("login")).status_code == 200


@pytest.mark.django_db
def test_the_login_page_with_the_cache_down_is_a_503_page(make_user, cache_down):
    make_user("marketing", username="alice", password="right-password-1")
    response = Client().post(
        reverse("login"), {"username": "alice", "password": "right-password-1"}
    )
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert b"unavailable" in response.content


# ------------------------------------------------------------------------- broker down
@pytest.mark.django_db(transaction=True)
def test_starting_a_run_with_the_broker_down_is_503_and_the_reaper_sends_it_once(
    client_for, broker_down, monkeypatch
):
    # The data checks are not what this test is about.
    monkeypatch.setattr(
        "clustering.runs.lifecycle.run_check_data",
        lambda **kwargs: 10_000,  # customers
    )
    response = client_for("manager").post(
        reverse("api-runs"), {"name": "during the outage"}, content_type="application/json"
    )
    assert_unavailable(response)
    run = SegmentationRun.unscoped.get(name="during the outage")
    assert (run.status, run.stage) == (SegmentationRun.Status.QUEUED, WAITING_FOR_THE_QUEUE)

    # Still down: the reaper's pass fails and leaves it marked.
    with pytest.raises(OperationalError):
        runs_redispatch_undelivered()
    run.refresh_from_db()
    assert run.stage == WAITING_FOR_THE_QUEUE


@pytest.mark.django_db
def test_the_reaper_sends_an_undelivered_run_exactly_once(make_user, sent, shop, other_shop):
    user = make_user("manager")
    waiting = SegmentationRun.objects.create(
        workspace=shop, created_by=user, params={}, stage=WAITING_FOR_THE_QUEUE
    )
    # The reaper looks after every workspace's runs.
    elsewhere = SegmentationRun.objects.create(
        workspace=other_shop, created_by=user, params={}, stage=WAITING_FOR_THE_QUEUE
    )
    normal = SegmentationRun.objects.create(
        workspace=shop, created_by=user, params={}, stage="queued"
    )

    assert sorted(runs_redispatch_undelivered()) == [waiting.pk, elsewhere.pk]
    assert runs_redispatch_undelivered() == []
    assert sorted(sent) == [
        ("execute_segmentation_run", (waiting.pk,)),
        ("execute_segmentation_run", (elsewhere.pk,)),
    ]
    waiting.refresh_from_db()
    assert (waiting.status, waiting.stage) == (SegmentationRun.Status.QUEUED, "queued")
    normal.refresh_from_db()
    assert normal.stage == "queued"  # queued behind others, not resent


SMALL = (
    b"InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    b"536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"
)


@pytest.mark.django_db(transaction=True)
def test_starting_an_import_with_the_broker_down_is_503_and_the_reaper_sends_it_once(
    client_for, broker_down, monkeypatch
):
    response = client_for("manager").post(
        reverse("api-imports"), {"file": SimpleUploadedFile("small.csv", SMALL, "text/csv")}
    )
    assert_unavailable(response)
    record = ImportRecord.unscoped.get(file_name="small.csv")
    assert (record.status, record.stage) == (ImportRecord.Status.QUEUED, WAITING_FOR_THE_QUEUE)

    from segmentation_site.celery import app

    messages = []
    monkeypatch.setattr(app, "send_task", lambda name, args=None, *a, **kw: messages.append(args))
    assert imports_redispatch_undelivered() == [record.pk]
    assert imports_redispatch_undelivered() == []
    assert messages == [[record.pk]] or messages == [(record.pk,)]
    record.refresh_from_db()
    assert (record.status, record.stage) == (ImportRecord.Status.QUEUED, "")


@pytest.mark.django_db
def test_the_reaper_thread_runs_every_recovery_step(monkeypatch):
    from clustering import tasks

    calls = []
    monkeypatch.setattr(tasks, "runs_recover_stale", lambda: calls.append("stale"))
    monkeypatch.setattr(tasks, "runs_redispatch_undelivered", lambda: calls.append("runs"))

    def imports_fail():
        calls.append("imports")
        raise OperationalError("down")

    monkeypatch.setattr("customers.tasks.imports_redispatch_undelivered", imports_fail)
    tasks._recover_stale_runs()  # a failing step is logged, the others still run
    assert calls == ["stale", "runs", "imports"]
