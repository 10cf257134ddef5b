"""Webhooks through a real worker process: each publication reaches a receiver on
127.0.0.1 once it is answered 2xx, signed with the endpoint's secret; a 500 is tried again
with the same idempotency key; a duplicated task after the success sends nothing."""

from __future__ import annotations

import json

import pytest

from clustering.models import Publication
from clustering.services import run_publish
from tests.clustering.factories import executed_run, load_transactions, synthetic_lines
from tests.conftest import require
from tests.webhooks.receiver import receiver
from tests.worker_process import broker_reachable, celery_worker, purge_queue, wait_for
from webhooks.models import Delivery
from webhooks.services import endpoint_create
from webhooks.signing import verify
from webhooks.tasks import deliver_webhook

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services, pytest.mark.slow]
PARAMS = {"algorithms": ["kmeans"], "k_min": 2, "k_max": 3, "seed": 7}


@pytest.fixture(autouse=True)
def _worker_settings(monkeypatch, settings):
    require(broker_reachable(), "the Celery broker (REDIS_URL)")
    purge_queue()
    # The worker process reads these from its environment (tests/worker_process.py passes
    # ours on); this process needs them too, to register the local receiver.
    monkeypatch.setenv("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "1")
    monkeypatch.setenv("WEBHOOK_RETRY_DELAYS", "1,1,1")
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    settings.WEBHOOK_RETRY_DELAYS = [1, 1, 1]


def _settled(publication_id: int):
    delivery = Delivery.unscoped.filter(publication_id=publication_id).first()
    return delivery if delivery is not None and delivery.is_finished else None


def test_each_publication_reaches_the_receiver_once_signed_and_retried(shop, make_user):
    manager = make_user("manager", workspace=shop)
    load_transactions(synthetic_lines(120, seed=4), workspace=shop)
    first = executed_run(shop, manager, PARAMS, name="first")
    second = executed_run(shop, manager, {**PARAMS, "seed": 8}, name="second")
    with receiver(answers=[500]) as hook, celery_worker(name="webhooks") as worker:
        endpoint = endpoint_create(workspace=shop, user=manager, url=hook.url)

        run_publish(workspace=shop, run_id=first.pk, user=manager)
        one = Publication.objects.in_workspace(shop).get(run=first)
        delivery = wait_for(lambda: _settled(one.pk), timeout=90, what="the first delivery")
        assert delivery.status == "succeeded", worker.log()[-3000:]

        # The same task again after the success (a duplicated message): nothing is sent. The
        # one worker takes messages in order, so it has handled it once the next one is done.
        deliver_webhook.delay(delivery.pk)
        run_publish(workspace=shop, run_id=second.pk, user=manager)
        two = Publication.objects.in_workspace(shop).get(run=second)
        later = wait_for(lambda: _settled(two.pk), timeout=90, what="the second delivery")
        assert later.status == "succeeded", worker.log()[-3000:]
        requests = hook.received()

    # 500 then 200 for the first publication, 200 for the second: three requests, no more.
    assert len(requests) == 3, [r.headers.get("X-Webhook-Id") for r in requests]
    keys = [r.headers["X-Webhook-Id"] for r in requests]
    assert keys == [str(delivery.idempotency_key)] * 2 + [str(later.idempotency_key)]
    for request in requests:
        headers = request.headers
        assert verify(endpoint.secret, headers["X-Webhook-Timestamp"], request.body,
                      headers["X-Webhook-Signature"])  # fmt: skip
    bodies = [json.loads(r.body) for r in requests]
    assert bodies[0] == bodies[1]
    assert bodies[0]["event"] == "segmentation.published"
    assert bodies[0]["publication"]["id"] == one.pk and bodies[0]["movements"] is None
    assert bodies[2]["publication"]["id"] == two.pk
    assert bodies[2]["movements"]["previous_publication_id"] == one.pk
    attempts = list(delivery.attempt_log.order_by("at").values_list("status_code", flat=True))
    assert attempts == [500, 200]
