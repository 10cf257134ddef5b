"""Writes of the webhooks app: endpoints (register, enable or disable, rotate the secret,
delete; each one in the audit log) and queueing deliveries (a publication's, a test event,
sending one again). The worker's side of a delivery is webhooks.delivery."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from audit.log import record
from clustering.models import Publication

from .addresses import AddressRefused, FormatRefused, Target, check_url
from .models import (
    Delivery,
    Endpoint,
    Event,
    Format,
    clean_alert_kinds,
    clean_events,
    every_event,
    format_refused,
    new_secret,
)
from .payloads import alert_payload, body_for, removal_payload, removals_payload
from .tasks import deliver_webhook

WEBHOOK_CHANGED = "webhook_changed"


class WebhookError(ValueError):
    """A webhook action that cannot be done now; the message says why."""


def check_endpoint_url(url: str) -> Target:
    """The url checked as a delivery would check it (AddressRefused says what is wrong)."""
    return check_url(url, allow_private=settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES)


def _queue(delivery: Delivery) -> None:
    transaction.on_commit(lambda: deliver_webhook.delay(delivery.pk))


def deliveries_redispatch_overdue(*, limit: int = 500) -> list[int]:
    """Queue again the deliveries due over WEBHOOK_OVERDUE_SECONDS ago that no worker took
    (the message was lost: the broker was down when it was sent, or lost it). Their due time
    moves to now, so the next sweep waits as long again; a duplicate message is harmless (an
    attempt sends only when due, under the row's lock)."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.WEBHOOK_OVERDUE_SECONDS)
    waiting = [Delivery.Status.PENDING, Delivery.Status.DELIVERING]
    overdue = Delivery.unscoped.filter(status__in=waiting).filter(
        Q(next_attempt_at__lt=cutoff) | Q(next_attempt_at__isnull=True, created_at__lt=cutoff)
    )
    ids = list(overdue.order_by("pk").values_list("pk", flat=True)[:limit])
    for delivery_id in ids:
        Delivery.unscoped.filter(pk=delivery_id, status__in=waiting).update(next_attempt_at=now)
        deliver_webhook.delay(delivery_id)
    return ids


def _audit(endpoint: Endpoint, *, user, request, change: str, **details) -> None:
    record(
        workspace=endpoint.workspace,
        action=WEBHOOK_CHANGED,
        actor=user,
        target=endpoint,
        request=request,
        details={"change": change, "url": endpoint.url, **details},
    )


def _receiving(workspace, event: str) -> list[Endpoint]:
    """The workspace's enabled endpoints that chose `event` (a handful: read, then kept)."""
    endpoints = Endpoint.objects.in_workspace(workspace).filter(enabled=True)
    return [endpoint for endpoint in endpoints if endpoint.receives(event)]


def _endpoint(workspace, endpoint_id: int, *, lock: bool = False) -> Endpoint:
    endpoints = Endpoint.objects.in_workspace(workspace)
    if lock:
        endpoints = endpoints.select_for_update()
    return endpoints.get(pk=endpoint_id)


@transaction.atomic
def endpoint_create(
    *,
    workspace,
    user,
    url: str,
    description: str = "",
    enabled: bool = True,
    events: list[str] | None = None,
    alert_kinds: list[str] | None = None,
    format: str | None = None,
    request=None,
) -> Endpoint:
    """Register an address for the workspace's events (by default every one, and alerts of
    every kind); refused (AddressRefused) unless it is an http(s) address on the public
    internet or in a format it cannot take, and (ValidationError) for no event or an
    unknown one or unknown alert kind."""
    url = url.strip()
    check_endpoint_url(url)
    events = clean_events(every_event() if events is None else events)
    alert_kinds = _alert_kinds(events, alert_kinds or [])
    format = Format(format or Format.JSON).value
    _check_format(url, format)
    endpoint = Endpoint.objects.create(
        workspace=workspace,
        url=url,
        description=description.strip(),
        enabled=enabled,
        events=events,
        alert_kinds=alert_kinds,
        format=format,
        created_by=user,
    )
    _audit(
        endpoint,
        user=user,
        request=request,
        change="created",
        enabled=enabled,
        events=events,
        format=format,
        **({"alert_kinds": alert_kinds} if alert_kinds else {}),
    )
    return endpoint


def _check_format(url: str, format: str) -> None:
    refused = format_refused(url, format)
    if refused:
        raise FormatRefused(refused)


def _alert_kinds(events: list[str], kinds: list[str]) -> list[str]:
    """The kinds as stored ([]: every kind); ValidationError for some kinds chosen for an
    endpoint that takes no alert."""
    kinds = clean_alert_kinds(kinds)
    if kinds and Event.ALERT not in events:
        raise ValidationError(
            "Alert kinds are chosen for an endpoint that receives alerts (alert.raised)."
        )
    return kinds


@transaction.atomic
def endpoint_edit(
    *,
    workspace,
    endpoint_id: int,
    user,
    url: str | None = None,
    description: str | None = None,
    format: str | None = None,
    request=None,
) -> Endpoint:
    """Change the endpoint's address (checked as at registration: AddressRefused, as is a
    format the address cannot take), its description or how it is written to; its secret
    and log stay, and deliveries not yet sent go to the new address (a body already written
    keeps its format)."""
    endpoint = _endpoint(workspace, endpoint_id, lock=True)
    changed: dict[str, str] = {}
    if url is not None and url.strip() != endpoint.url:
        check_endpoint_url(url.strip())
        changed["from_url"] = endpoint.url
        endpoint.url = url.strip()
    if description is not None and description.strip() != endpoint.description:
        changed["description"] = endpoint.description = description.strip()
    if format is not None and format != endpoint.format:
        changed["format"] = endpoint.format = Format(format).value
    if changed.keys() & {"from_url", "format"}:
        _check_format(endpoint.url, endpoint.format)
    if changed:
        endpoint.save(update_fields=["url", "description", "format"])
        _audit(endpoint, user=user, request=request, change="edited", **changed)
    return endpoint


@transaction.atomic
def endpoint_set_events(
    *,
    workspace,
    endpoint_id: int,
    user,
    events: list[str] | None = None,
    alert_kinds: list[str] | None = None,
    request=None,
) -> Endpoint:
    """Choose what the endpoint receives from now on: its events, and of alerts which kinds
    ([]: every one); what is not given stays (ValidationError for no event, or an unknown
    one)."""
    endpoint = _endpoint(workspace, endpoint_id, lock=True)
    events = clean_events(endpoint.events if events is None else events)
    if alert_kinds is None:  # as they were, while it still takes alerts
        alert_kinds = endpoint.alert_kinds if Event.ALERT in events else []
    kinds = _alert_kinds(events, alert_kinds)
    if (endpoint.events, endpoint.alert_kinds) != (events, kinds):
        endpoint.events, endpoint.alert_kinds = events, kinds
        endpoint.save(update_fields=["events", "alert_kinds"])
        _audit(
            endpoint,
            user=user,
            request=request,
            change="events",
            events=events,
            **({"alert_kinds": kinds} if kinds else {}),
        )
    return endpoint


@transaction.atomic
def endpoint_set_enabled(
    *, workspace, endpoint_id: int, user, enabled: bool, request=None
) -> Endpoint:
    endpoint = _endpoint(workspace, endpoint_id, lock=True)
    if endpoint.enabled != enabled:
        if enabled:
            check_endpoint_url(endpoint.url)  # it may point inside by now
        endpoint.enabled = enabled
        endpoint.save(update_fields=["enabled"])
        _audit(endpoint, user=user, request=request, change="enabled" if enabled else "disabled")
    return endpoint


@transaction.atomic
def endpoint_rotate_secret(*, workspace, endpoint_id: int, user, request=None) -> Endpoint:
    """A new signing secret, used from the next attempt on (the old one stops at once)."""
    endpoint = _endpoint(workspace, endpoint_id, lock=True)
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret"])
    _audit(endpoint, user=user, request=request, change="secret_rotated")
    return endpoint


@transaction.atomic
def endpoint_delete(*, workspace, endpoint_id: int, user, request=None) -> None:
    """Remove the endpoint and its delivery log (the audit log keeps that it existed)."""
    endpoint = _endpoint(workspace, endpoint_id, lock=True)
    _audit(endpoint, user=user, request=request, change="deleted")
    endpoint.delete()


@transaction.atomic
def deliveries_for_publication(*, workspace, publication: Publication) -> list[Delivery]:
    """One delivery per enabled endpoint of the workspace that takes publications, queued
    once this commits; an endpoint that already has this publication's delivery gets no
    second one."""
    created = []
    for endpoint in _receiving(workspace, Delivery.Event.PUBLISHED):
        delivery, is_new = Delivery.objects.in_workspace(workspace).get_or_create(
            endpoint=endpoint,
            publication=publication,
            event=Delivery.Event.PUBLISHED,
            defaults={"workspace": workspace},
        )
        if is_new:
            _queue(delivery)
            created.append(delivery)
    return created


def _written_now(workspace, endpoint: Endpoint, event: str, body_of, **fields) -> Delivery:
    """A delivery whose body is written now (body_of(delivery): the event as it stands, in
    the endpoint's format), queued once this commits."""
    delivery = Delivery.objects.create(
        workspace=workspace, endpoint=endpoint, event=event, **fields
    )
    delivery.payload = body_for(delivery, body_of(delivery))
    delivery.save(update_fields=["payload"])
    _queue(delivery)
    return delivery


@transaction.atomic
def deliveries_for_alerts(*, workspace, alerts: list[dict[str, Any]]) -> list[Delivery]:
    """One delivery per raised alert (the plain dicts of clustering.signals.alerts_raised)
    and enabled endpoint that takes alerts of its kind, its body written now, queued once
    this commits; an endpoint that already has an alert's delivery gets no second one (a
    constraint holds it when two senders race)."""
    created = []
    for endpoint in _receiving(workspace, Delivery.Event.ALERT):
        chosen = [alert for alert in alerts if endpoint.receives_alert(alert["kind"])]
        sent = _alerts_sent(workspace, endpoint, [alert["id"] for alert in chosen])
        for alert in chosen:
            if alert["id"] in sent:
                continue
            try:
                with transaction.atomic():
                    delivery = _written_now(
                        workspace,
                        endpoint,
                        Delivery.Event.ALERT,
                        lambda delivery, alert=alert: alert_payload(delivery, alert),
                        alert_id=alert["id"],
                    )
            except IntegrityError:  # another sender wrote it since the read above
                continue
            created.append(delivery)
    return created


def _alerts_sent(workspace, endpoint: Endpoint, alert_ids: list[int]) -> set[int]:
    """Of these alerts, those the endpoint already has a delivery of."""
    return set(
        Delivery.objects.in_workspace(workspace)
        .filter(endpoint=endpoint, event=Delivery.Event.ALERT, alert_id__in=alert_ids)
        .values_list("alert_id", flat=True)
    )


@transaction.atomic
def deliveries_for_removal(*, workspace, removal: dict[str, Any]) -> list[Delivery]:
    """One delivery per enabled endpoint that takes removals, for a customer removed (the
    plain dict of customers.signals.customer_removed), its body written now."""
    created = []
    for endpoint in _receiving(workspace, Delivery.Event.CUSTOMER_REMOVED):
        created.append(
            _written_now(
                workspace,
                endpoint,
                Delivery.Event.CUSTOMER_REMOVED,
                lambda delivery: removal_payload(delivery, removal),
            )
        )
    return created


#: Customer ids in one delivery of an undone import's removals; more go in further parts.
REMOVED_IDS_PER_DELIVERY = 1000


@transaction.atomic
def deliveries_for_removals(*, workspace, removal: dict[str, Any]) -> list[Delivery]:
    """The customers an undone import took (customers.signals.customers_removed), to the
    enabled endpoints that take removals: a JSON endpoint gets their ids in parts of
    REMOVED_IDS_PER_DELIVERY, a chat or Teams one a single line saying how many."""
    ids = removal["customer_ids"]
    parts = [
        ids[start : start + REMOVED_IDS_PER_DELIVERY]
        for start in range(0, len(ids), REMOVED_IDS_PER_DELIVERY)
    ] or [[]]
    created = []
    for endpoint in _receiving(workspace, Delivery.Event.CUSTOMER_REMOVED):
        written = parts if endpoint.format == Format.JSON else parts[:1]
        for number, part in enumerate(written, start=1):
            body = {
                **removal,
                "customers": len(ids),
                "customer_ids": part,
                "part": number,
                "parts": len(written),
            }
            created.append(
                _written_now(
                    workspace,
                    endpoint,
                    Delivery.Event.CUSTOMERS_REMOVED,
                    lambda delivery, body=body: removals_payload(delivery, body),
                )
            )
    return created


@transaction.atomic
def delivery_send_test(*, workspace, endpoint_id: int, user) -> Delivery:
    """Queue a test event to the endpoint (enabled or not): the latest publication's news,
    marked "test": true, or an empty one when nothing is published yet."""
    endpoint = _endpoint(workspace, endpoint_id)
    check_endpoint_url(endpoint.url)
    delivery = Delivery.objects.create(
        workspace=workspace,
        endpoint=endpoint,
        event=Delivery.Event.TEST,
        publication=Publication.objects.in_workspace(workspace).first(),
    )
    _queue(delivery)
    return delivery


@transaction.atomic
def delivery_redeliver(*, workspace, delivery_id: int, user) -> Delivery:
    """Send a delivery again, the same body with the same idempotency key, with a fresh
    round of retries; refused while a worker is sending it."""
    delivery = (
        Delivery.objects.in_workspace(workspace)
        .select_for_update()
        .select_related("endpoint")
        .get(pk=delivery_id)
    )
    if delivery.status == Delivery.Status.DELIVERING:
        raise WebhookError("This delivery is being sent right now; wait for its answer.")
    delivery.status = Delivery.Status.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = None
    delivery.delivered_at = None
    delivery.save(update_fields=["status", "attempts", "next_attempt_at", "delivered_at"])
    _queue(delivery)
    return delivery


__all__ = [
    "AddressRefused",
    "WebhookError",
    "check_endpoint_url",
    "deliveries_for_publication",
    "delivery_redeliver",
    "delivery_send_test",
    "endpoint_create",
    "endpoint_delete",
    "endpoint_rotate_secret",
    "endpoint_set_enabled",
]
