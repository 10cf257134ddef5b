"""Delivering one webhook, in this process, to a receiver on 127.0.0.1: signed headers,
2xx = succeeded and never sent again by a task, 5xx/429/no answer = tried again after the
configured waits up to the cap, other 4xx = failed at once, every attempt logged, and
"send again" with the same idempotency key."""

from __future__ import annotations

import json
import socket

import pytest

from tests.webhooks.receiver import receiver
from webhooks.delivery import delivery_attempt
from webhooks.models import Delivery, Endpoint
from webhooks.services import delivery_redeliver, delivery_send_test
from webhooks.signing import verify


@pytest.fixture(autouse=True)
def _local(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    settings.WEBHOOK_RETRY_DELAYS = [0, 0]
    settings.WEBHOOK_TIMEOUT_SECONDS = 5


def _delivery(shop, url: str) -> Delivery:
    endpoint = Endpoint.objects.create(workspace=shop, url=url)
    return delivery_send_test(workspace=shop, endpoint_id=endpoint.pk, user=None)


def _attempts(delivery) -> list[tuple]:
    return list(
        delivery.attempt_log.order_by("at", "pk").values_list("status_code", "response_excerpt")
    )


def test_a_delivery_is_posted_signed_and_never_sent_again_once_it_succeeded(shop):
    with receiver() as hook:
        delivery = _delivery(shop, hook.url)
        outcome = delivery_attempt(delivery_id=delivery.pk)
        assert (outcome.status, outcome.sent, outcome.retry_at) == ("succeeded", True, None)
        again = delivery_attempt(delivery_id=delivery.pk)  # a duplicated message
        assert (again.status, again.sent) == ("succeeded", False)
        (request,) = hook.received()
    delivery.refresh_from_db()
    endpoint = delivery.endpoint
    assert request.path == "/hooks/segments?source=test"
    headers = request.headers
    key = str(delivery.idempotency_key)
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("SegmentationWebhooks/")
    assert (headers["X-Webhook-Id"], headers["Idempotency-Key"]) == (key, key)
    assert headers["X-Webhook-Event"] == "webhook.test"
    assert verify(endpoint.secret, headers["X-Webhook-Timestamp"], request.body,
                  headers["X-Webhook-Signature"])  # fmt: skip
    assert json.loads(request.body) == delivery.payload
    assert delivery.payload["id"] == key
    assert (delivery.status, delivery.attempts) == ("succeeded", 1)
    assert delivery.delivered_at is not None
    assert _attempts(delivery) == [(200, "ok")]


def test_server_errors_are_tried_again_with_the_same_body_and_key(shop):
    with receiver(answers=[500, 429]) as hook:
        delivery = _delivery(shop, hook.url)
        first = delivery_attempt(delivery_id=delivery.pk)
        assert (first.status, first.sent) == ("pending", True)
        assert first.retry_at is not None
        assert delivery_attempt(delivery_id=delivery.pk).status == "pending"  # 429
        assert delivery_attempt(delivery_id=delivery.pk).status == "succeeded"
        requests = hook.received()
    assert len(requests) == 3
    assert len({r.body for r in requests}) == 1
    assert len({r.headers["X-Webhook-Id"] for r in requests}) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 3
    assert [code for code, _ in _attempts(delivery)] == [500, 429, 200]


def test_a_delivery_fails_after_the_last_retry(shop):
    with receiver(answers=[503, 503, 503, 503]) as hook:
        delivery = _delivery(shop, hook.url)
        statuses = [delivery_attempt(delivery_id=delivery.pk).status for _ in range(4)]
        assert statuses == ["pending", "pending", "failed", "failed"]
        assert len(hook.received()) == 3  # the first try and one per configured delay


def test_a_client_error_fails_at_once_but_a_timeout_answer_is_retried(shop):
    with receiver(answers=[404]) as hook:
        delivery = _delivery(shop, hook.url)
        assert delivery_attempt(delivery_id=delivery.pk).status == "failed"
        assert len(hook.received()) == 1
    with receiver(answers=[408]) as hook:
        delivery = _delivery(shop, hook.url)
        assert delivery_attempt(delivery_id=delivery.pk).status == "pending"


def test_no_answer_is_logged_and_tried_again(shop):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    delivery = _delivery(shop, f"http://127.0.0.1:{port}/hook")
    outcome = delivery_attempt(delivery_id=delivery.pk)
    assert outcome.status == "pending"
    attempt = delivery.attempt_log.get()
    assert attempt.status_code is None
    assert "Connection failed" in attempt.error


def test_the_address_is_checked_again_at_delivery(shop, settings):
    with receiver() as hook:
        delivery = _delivery(shop, hook.url)
        settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
        assert delivery_attempt(delivery_id=delivery.pk).status == "failed"
        assert hook.received() == []
    attempt = delivery.attempt_log.get()
    assert "127.0.0.1 is a loopback address" in attempt.error


def test_a_disabled_endpoint_gets_no_publication(shop):
    with receiver() as hook:
        delivery = _delivery(shop, hook.url)
        Delivery.objects.in_workspace(shop).filter(pk=delivery.pk).update(
            event="segmentation.published"
        )
        Endpoint.objects.in_workspace(shop).update(enabled=False)
        assert delivery_attempt(delivery_id=delivery.pk).status == "failed"
        assert hook.received() == []
    assert "disabled" in delivery.attempt_log.get().error


def test_send_again_resends_the_same_body_and_key_with_fresh_retries(shop):
    with receiver(answers=[200, 200]) as hook:
        delivery = _delivery(shop, hook.url)
        assert delivery_attempt(delivery_id=delivery.pk).status == "succeeded"
        again = delivery_redeliver(workspace=shop, delivery_id=delivery.pk, user=None)
        assert (again.status, again.attempts) == ("pending", 0)
        assert delivery_attempt(delivery_id=delivery.pk).status == "succeeded"
        first, second = hook.received()
    assert first.body == second.body
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert [code for code, _ in _attempts(delivery)] == [200, 200]


def test_the_reaper_sends_again_a_delivery_whose_message_was_lost(shop, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from clustering.signals import reaper_tick
    from webhooks import services

    queued: list[int] = []
    monkeypatch.setattr(services.deliver_webhook, "delay", queued.append)
    with receiver() as hook:
        lost = _delivery(shop, hook.url)  # its message never reached a worker
        recent = _delivery(shop, hook.url)
        done = _delivery(shop, hook.url)
        delivery_attempt(delivery_id=done.pk)
        queued.clear()
        long_ago = timezone.now() - timedelta(minutes=20)
        Delivery.unscoped.filter(pk__in=[lost.pk, done.pk]).update(created_at=long_ago)
        Delivery.unscoped.filter(pk=recent.pk).update(
            next_attempt_at=timezone.now() - timedelta(minutes=1)
        )
        reaper_tick.send(sender=None)
        assert queued == [lost.pk]  # not the one due a minute ago, nor the delivered one
        reaper_tick.send(sender=None)  # its due time moved to now: no second message yet
        assert queued == [lost.pk]
        outcome = delivery_attempt(delivery_id=lost.pk)  # the worker takes the new message
        assert (outcome.status, outcome.sent) == ("succeeded", True)
        assert len(hook.received()) == 2  # the delivered one, and the lost one now


@pytest.mark.django_db(transaction=True)
def test_each_reaper_pass_tells_the_apps_to_look_for_lost_work():
    from clustering.signals import reaper_tick
    from clustering.tasks import _recover_stale_runs

    heard = []

    def listener(sender, **kwargs):
        heard.append(sender)

    reaper_tick.connect(listener, dispatch_uid="test-listener")
    try:
        _recover_stale_runs()
    finally:
        reaper_tick.disconnect(dispatch_uid="test-listener")
    assert heard == [None]
