"""An alert raised is announced to the workspace's enabled endpoints as "alert.raised": its
message, kind and details as stored, and where to see it; once per endpoint and alert,
signed and delivered like every event, and not to an endpoint disabled meanwhile."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from alerts import tasks as alert_tasks
from alerts.models import Alert, AlertRule
from alerts.services import alerts_for_failed_run
from clustering.models import Publication, Segment, SegmentationRun
from clustering.runs.claims import finish
from clustering.services import run_publish
from clustering.signals import alerts_raised
from tests.alerts.test_receivers import FOUR, TWO, _scheduled_run
from tests.clustering.factories import executed_run, load_transactions, synthetic_lines
from tests.webhooks.conftest import raised_alert
from tests.webhooks.receiver import assert_posted, receiver
from webhooks import payloads, services
from webhooks.delivery import delivery_attempt
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _local(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 5
    settings.SITE_URL = "https://segments.example.com"


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    """The deliveries sent to the workers (instead of the broker)."""
    sent: list[int] = []
    monkeypatch.setattr(services.deliver_webhook, "delay", sent.append)
    return sent


def _failed_scheduled_run(shop, make_user, capture):
    manager = make_user("manager", workspace=shop)
    load_transactions(synthetic_lines(120, seed=4), workspace=shop)
    run = _scheduled_run(shop, manager)
    with capture(execute=True):
        finish(SegmentationRun.objects.in_workspace(shop).get(pk=run.pk), "failed", "Boom.")
    return run


def test_a_raised_alert_is_posted_signed_to_each_enabled_endpoint(
    shop, make_user, django_capture_on_commit_callbacks, queued
):
    AlertRule.objects.create(workspace=shop, kind="scheduled_run_failed", recipients="a@x.io")
    with receiver() as hook:
        endpoint = Endpoint.objects.create(workspace=shop, url=hook.url)
        Endpoint.objects.create(workspace=shop, url=hook.url + "/off", enabled=False)
        run = _failed_scheduled_run(shop, make_user, django_capture_on_commit_callbacks)

        [alert] = Alert.objects.in_workspace(shop)
        [delivery] = Delivery.objects.in_workspace(shop)
        assert queued == [delivery.pk]
        assert (delivery.endpoint, delivery.event) == (endpoint, "alert.raised")
        assert delivery.payload == {
            "event": "alert.raised",
            "id": str(delivery.idempotency_key),
            "created_at": delivery.created_at.isoformat(),
            "workspace": {"slug": shop.slug, "name": shop.name, "currency": shop.currency},
            "alert": {
                "id": alert.pk,
                "kind": "scheduled_run_failed",
                "message": alert.message,
                "details": alert.details,
                "created_at": alert.created_at.isoformat(),
                "run_id": run.pk,
                "publication_id": None,
                "links": {
                    "page": f"https://segments.example.com/w/{shop.slug}/alerts/",
                    "alerts": "https://segments.example.com/api/v1/alerts/",
                },
            },
        }
        assert "failed" in alert.message and "Boom." in alert.message

        # The worker posts it, signed, as every event.
        assert delivery_attempt(delivery_id=delivery.pk).status == "succeeded"
        [request] = hook.received()
    assert_posted(request, endpoint=endpoint, delivery=delivery, event="alert.raised")

    # The endpoint's delivery log says which alert it was.
    client = Client()
    client.force_login(make_user("manager", username="reader", workspace=shop))
    log = client.get(reverse("webhooks:endpoint-detail", args=[endpoint.pk])).content.decode()
    assert f'Alert raised: <span class="help">{escape(alert.message)}</span>' in log


def test_an_alert_is_announced_once_per_endpoint(
    shop, make_user, django_capture_on_commit_callbacks, queued
):
    AlertRule.objects.create(workspace=shop, kind="scheduled_run_failed", recipients="a@x.io")
    Endpoint.objects.create(workspace=shop, url="https://hooks.example.com/a")
    run = _failed_scheduled_run(shop, make_user, django_capture_on_commit_callbacks)
    assert Delivery.objects.in_workspace(shop).count() == 1

    # The signal again (a receiver's retry, a second sender): nothing more to deliver.
    [alert] = Alert.objects.in_workspace(shop)
    event = Delivery.objects.in_workspace(shop).get().payload["alert"]
    alerts_raised.send(
        sender=Alert,
        workspace=shop,
        alerts=[{k: v for k, v in event.items() if k != "links"}],
    )
    assert Delivery.objects.in_workspace(shop).count() == 1 and len(queued) == 1

    # A second endpoint registered later hears of later alerts only; another failure is one.
    Endpoint.objects.create(workspace=shop, url="https://hooks.example.com/b")
    run.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert alerts_for_failed_run(workspace=shop, run=run)  # as if it failed again
    assert Delivery.objects.in_workspace(shop).count() == 3 and len(queued) == 3
    again = Alert.objects.in_workspace(shop).exclude(pk=alert.pk).get()
    ids = Delivery.objects.in_workspace(shop).values_list("payload__alert__id", flat=True)
    assert sorted(ids) == sorted([alert.pk, again.pk, again.pk])


def test_an_endpoint_disabled_before_the_delivery_gets_no_alert(
    shop, make_user, django_capture_on_commit_callbacks, queued
):
    AlertRule.objects.create(workspace=shop, kind="scheduled_run_failed", recipients="a@x.io")
    with receiver() as hook:
        Endpoint.objects.create(workspace=shop, url=hook.url)
        _failed_scheduled_run(shop, make_user, django_capture_on_commit_callbacks)
        Endpoint.objects.in_workspace(shop).update(enabled=False)
        [delivery] = Delivery.objects.in_workspace(shop)
        assert delivery_attempt(delivery_id=delivery.pk).status == "failed"
        assert hook.received() == []
    assert "disabled" in delivery.attempt_log.get().error


def test_the_alerts_of_a_publication_are_announced_after_its_own_event(
    shop, make_user, django_capture_on_commit_callbacks, queued, monkeypatch
):
    checks: list[int] = []  # the publication checks sent to the workers
    monkeypatch.setattr(alert_tasks.check_publication, "delay", checks.append)
    manager = make_user("manager", workspace=shop)
    AlertRule.objects.create(workspace=shop, kind="segment_size_change", threshold=1)
    Endpoint.objects.create(workspace=shop, url="https://hooks.example.com/a")
    load_transactions(synthetic_lines(240, seed=4), workspace=shop)
    first = executed_run(shop, manager, TWO, name="two")
    second = executed_run(shop, manager, FOUR, name="four")
    with django_capture_on_commit_callbacks(execute=True):
        run_publish(workspace=shop, run_id=first.pk, user=manager)
    with django_capture_on_commit_callbacks(execute=True):
        run_publish(workspace=shop, run_id=second.pk, user=manager)
    publication = Publication.objects.in_workspace(shop).get(run=second)
    deliveries = Delivery.objects.in_workspace(shop)
    assert list(deliveries.values_list("event", flat=True)) == ["segmentation.published"] * 2

    # The worker checks the publication: each alert it raises is announced.
    with django_capture_on_commit_callbacks(execute=True):
        alert_tasks.check_publication.apply((checks.pop(),))
    raised = {alert.pk: alert for alert in Alert.objects.in_workspace(shop)}
    announced = [d.payload["alert"] for d in deliveries.filter(event="alert.raised")]
    assert raised and sorted(a["id"] for a in announced) == sorted(raised)
    for event in announced:
        alert = raised[event["id"]]
        assert (event["kind"], event["message"]) == ("segment_size_change", alert.message)
        assert event["publication_id"] == publication.pk and event["run_id"] == second.pk
    assert len(queued) == 2 + len(raised)


def test_each_endpoint_gets_only_the_events_it_chose(
    shop, make_user, django_capture_on_commit_callbacks, queued, monkeypatch
):
    checks: list[int] = []
    monkeypatch.setattr(alert_tasks.check_publication, "delay", checks.append)
    manager = make_user("manager", workspace=shop)
    AlertRule.objects.create(workspace=shop, kind="segment_size_change", threshold=1)
    make = Endpoint.objects.create
    news = make(workspace=shop, url="https://crm.example/hook", events=["segmentation.published"])
    relay = make(workspace=shop, url="https://relay.example/hook", events=["alert.raised"])
    load_transactions(synthetic_lines(240, seed=4), workspace=shop)
    for params, name in ((TWO, "two"), (FOUR, "four")):
        run = executed_run(shop, manager, params, name=name)
        with django_capture_on_commit_callbacks(execute=True):
            run_publish(workspace=shop, run_id=run.pk, user=manager)
    with django_capture_on_commit_callbacks(execute=True):
        alert_tasks.check_publication.apply((checks.pop(),))

    raised = Alert.objects.in_workspace(shop).count()
    deliveries = Delivery.objects.in_workspace(shop)
    assert raised and deliveries.count() == 2 + raised
    assert set(deliveries.filter(endpoint=news).values_list("event", flat=True)) == {
        "segmentation.published"
    }
    assert set(deliveries.filter(endpoint=relay).values_list("event", flat=True)) == {
        "alert.raised"
    }


def test_a_chat_endpoint_gets_one_line_of_text_for_each_event(
    shop, make_user, django_capture_on_commit_callbacks, queued, monkeypatch
):
    checks: list[int] = []
    monkeypatch.setattr(alert_tasks.check_publication, "delay", checks.append)
    manager = make_user("manager", workspace=shop)
    AlertRule.objects.create(workspace=shop, kind="segment_size_change", threshold=1)
    with receiver() as hook:
        chat = Endpoint.objects.create(workspace=shop, url=hook.url, format="chat")
        load_transactions(synthetic_lines(240, seed=4), workspace=shop)
        runs = []
        for params, name in ((TWO, "two"), (FOUR, "four")):
            runs.append(executed_run(shop, manager, params, name=name))
            with django_capture_on_commit_callbacks(execute=True):
                run_publish(workspace=shop, run_id=runs[-1].pk, user=manager)
        with django_capture_on_commit_callbacks(execute=True):
            alert_tasks.check_publication.apply((checks.pop(),))
        for delivery in Delivery.objects.in_workspace(shop).order_by("pk"):
            assert delivery_attempt(delivery_id=delivery.pk).status == "succeeded"
        bodies = [json.loads(request.body) for request in hook.received()]

    deliveries = list(Delivery.objects.in_workspace(shop).order_by("pk"))
    assert [d.endpoint for d in deliveries] == [chat] * len(deliveries)
    assert bodies == [d.payload for d in deliveries]  # what was stored is what was posted
    site = "https://segments.example.com"
    first, second = runs
    segments = [Segment.objects.in_workspace(shop).filter(run=run).count() for run in runs]
    assert bodies[0] == {
        "text": f"{shop.name}: segmentation “two” published, {first.n_customers:,} customers "
        f"in {segments[0]} segments. {site}/w/{shop.slug}/"
    }
    assert bodies[1] == {
        "text": f"{shop.name}: segmentation “four” published, {second.n_customers:,} customers "
        f"in {segments[1]} segments; since the last one, 0 new and 0 gone. {site}/w/{shop.slug}/"
    }
    alerts = Alert.objects.in_workspace(shop).order_by("pk")
    assert alerts and bodies[2:] == [
        {"text": f"{shop.name}: {alert.message.rstrip('.')}. {site}/w/{shop.slug}/alerts/"}
        for alert in alerts
    ]


def test_a_chat_endpoints_test_event_says_it_is_a_test(shop, queued):
    endpoint = Endpoint.objects.create(
        workspace=shop, url="https://93.184.215.14/chat", format="chat"
    )
    delivery = services.delivery_send_test(workspace=shop, endpoint_id=endpoint.pk, user=None)
    assert payloads.body_for(delivery, payloads.delivery_payload(delivery)) == {
        "text": f"Test: {shop.name}: nothing is published yet. "
        f"https://segments.example.com/w/{shop.slug}/"
    }


def test_a_chat_endpoint_hears_of_an_alert_once_however_often_it_is_announced(
    shop, queued, django_capture_on_commit_callbacks
):
    chat = Endpoint.objects.create(workspace=shop, url="https://93.184.215.14/chat", format="chat")
    alert = raised_alert(7)
    for _ in range(2):  # the signal again: a receiver's retry, a second sender
        with django_capture_on_commit_callbacks(execute=True):
            services.deliveries_for_alerts(workspace=shop, alerts=[alert])
    [delivery] = Delivery.objects.in_workspace(shop)
    assert (delivery.endpoint, delivery.alert_id, len(queued)) == (chat, 7, 1)
    assert delivery.payload["text"].startswith(f"{shop.name}: The scheduled run failed.")


def test_two_senders_racing_announce_an_alert_once(
    shop, queued, monkeypatch, django_capture_on_commit_callbacks
):
    """Both read that the alert was not sent yet; the constraint keeps the second out."""
    Endpoint.objects.create(workspace=shop, url="https://93.184.215.14/hook")
    alert = raised_alert(8)
    with django_capture_on_commit_callbacks(execute=True):
        assert len(services.deliveries_for_alerts(workspace=shop, alerts=[alert])) == 1
    # a second sender read before the first one's commit: it saw no delivery
    monkeypatch.setattr(services, "_alerts_sent", lambda *args: set())
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert services.deliveries_for_alerts(workspace=shop, alerts=[alert]) == []
    assert callbacks == []  # nothing queued for the delivery the constraint refused
    assert Delivery.objects.in_workspace(shop).filter(alert_id=8).count() == 1
    assert len(queued) == 1
