"""Celery task: one attempt at a webhook delivery, by id; it queues its own next look when
the delivery is to be tried again (webhooks.delivery)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from .delivery import delivery_attempt


@shared_task(
    bind=True,
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    # One request's timeout, and the rest is the database: a minute is plenty.
    soft_time_limit=settings.WEBHOOK_TIMEOUT_SECONDS + 50,
    time_limit=settings.WEBHOOK_TIMEOUT_SECONDS + 60,
)
def deliver_webhook(self, delivery_id: int) -> str:
    outcome = delivery_attempt(delivery_id=delivery_id)
    if outcome.retry_at is not None:
        deliver_webhook.apply_async((delivery_id,), eta=outcome.retry_at)
    return outcome.status
