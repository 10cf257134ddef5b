"""The worker's side of a delivery: take it under a row lock, POST it signed, record the
attempt, and decide: succeeded, again later (exponential backoff from
settings.WEBHOOK_RETRY_DELAYS), or failed. A delivery that succeeded or failed is never
sent again by a task (a duplicated or re-queued message finds it finished under the lock);
only a manager's "send again" (webhooks.services.delivery_redeliver) re-opens it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .addresses import AddressRefused, HostUnresolved, check_url
from .models import Delivery, DeliveryAttempt
from .payloads import body_for, delivery_payload
from .signing import body_bytes, signature
from .transport import Answer, post

logger = logging.getLogger(__name__)

# Beyond the request's own timeout, how long a worker holds a delivery it took before
# another may take it over (the first one died mid-send).
HOLD_MARGIN_SECONDS = 60
# Status codes worth trying again: the receiver is busy or asked to slow down.
RETRY_STATUS = {408, 429}
USER_AGENT = "SegmentationWebhooks/1.0"


@dataclass(frozen=True)
class Outcome:
    status: str  # the delivery's status after this call, or "gone"
    sent: bool  # whether this call POSTed
    retry_at: datetime | None = None  # when a task must look again


def headers_for(delivery: Delivery, secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    key = str(delivery.idempotency_key)
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Webhook-Event": delivery.event,
        "X-Webhook-Id": key,
        "Idempotency-Key": key,
        "X-Webhook-Timestamp": str(timestamp),
        "X-Webhook-Signature": signature(secret, timestamp, body),
    }


def is_retryable(answer: Answer) -> bool:
    code = answer.status_code
    return code is None or code in RETRY_STATUS or code >= 500


def delivery_attempt(*, delivery_id: int) -> Outcome:
    """One attempt at a delivery, if it is due and nobody else holds it."""
    now = timezone.now()
    timeout = float(settings.WEBHOOK_TIMEOUT_SECONDS)
    with transaction.atomic():
        # By id, before its workspace is known: the task carries only the id.
        delivery = (
            # of=self: PostgreSQL cannot lock the nullable side (publication) of the join
            Delivery.unscoped.select_for_update(of=("self",))
            .select_related("endpoint", "workspace", "publication")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return Outcome("gone", sent=False)
        if delivery.is_finished:
            return Outcome(delivery.status, sent=False)
        due = delivery.next_attempt_at
        if due is not None and due > now:
            # Pending: not yet due. Delivering: another worker holds it. Look again then
            # (the message that brought this task may be a duplicate; a spare look is cheap).
            return Outcome(delivery.status, sent=False, retry_at=due)
        endpoint = delivery.endpoint
        if not endpoint.enabled and delivery.event != Delivery.Event.TEST:
            _finish(delivery, now, Answer(None, "", "Not sent: the endpoint is disabled.", 0))
            return Outcome(delivery.status, sent=False)
        if not delivery.payload:
            try:
                delivery.payload = body_for(delivery, delivery_payload(delivery))
            except Exception as error:
                logger.exception("webhook delivery %s: building the body failed", delivery.pk)
                _finish(delivery, now, Answer(None, "", f"The body could not be built: {error}", 0))
                return Outcome(delivery.status, sent=False)
        delivery.status = Delivery.Status.DELIVERING
        delivery.attempts += 1
        delivery.next_attempt_at = now + timedelta(seconds=timeout + HOLD_MARGIN_SECONDS)
        delivery.save(update_fields=["payload", "status", "attempts", "next_attempt_at"])
        secret, url, payload = endpoint.secret, endpoint.url, delivery.payload

    # The network, outside any transaction: no row stays locked while a receiver thinks.
    body = body_bytes(payload)
    retry = True
    try:
        target = check_url(url, allow_private=settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES)
    except HostUnresolved as error:
        answer = Answer(None, "", str(error), 0)
    except AddressRefused as error:
        answer, retry = Answer(None, "", f"Not sent: {error}", 0), False
    else:
        timestamp = int(time.time())
        answer = post(target, body, headers_for(delivery, secret, body, timestamp), timeout=timeout)

    with transaction.atomic():
        delivery = Delivery.unscoped.select_for_update().filter(pk=delivery_id).first()
        if delivery is None:  # the endpoint was deleted meanwhile
            return Outcome("gone", sent=True)
        retry_at = _finish(delivery, timezone.now(), answer, retry=retry)
    return Outcome(delivery.status, sent=True, retry_at=retry_at)


def _finish(delivery: Delivery, now: datetime, answer: Answer, *, retry: bool = False):
    """Record the attempt and settle the delivery; the time of the next attempt, if any."""
    DeliveryAttempt.objects.create(
        workspace_id=delivery.workspace_id,
        delivery=delivery,
        at=now,
        status_code=answer.status_code,
        error=answer.error,
        duration_ms=answer.duration_ms,
        response_excerpt=answer.excerpt,
    )
    delays = list(settings.WEBHOOK_RETRY_DELAYS)
    retry_at = None
    if answer.status_code is not None and 200 <= answer.status_code < 300:
        delivery.status = Delivery.Status.SUCCEEDED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif retry and is_retryable(answer) and delivery.attempts <= len(delays):
        delivery.status = Delivery.Status.PENDING
        retry_at = now + timedelta(seconds=delays[delivery.attempts - 1])
        delivery.next_attempt_at = retry_at
    else:
        delivery.status = Delivery.Status.FAILED
        delivery.next_attempt_at = None
    delivery.save(update_fields=["status", "delivered_at", "next_attempt_at"])
    return retry_at
