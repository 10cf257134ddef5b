"""Celery tasks: a publication's check against the workspace's alert rules, and an attempt
at an alert's e-mail, each by id."""

from __future__ import annotations

from celery import shared_task

from clustering.services import TRANSIENT_ERRORS

from .mailing import mail_attempt, mail_queue
from .services import publication_check

_RETRIED = {
    "autoretry_for": TRANSIENT_ERRORS,
    "max_retries": 3,
    "retry_backoff": 5,
    "retry_jitter": True,
}


@shared_task(
    bind=True,
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    **_RETRIED,
)
def check_publication(self, check_id: int) -> int:
    """The number of alerts raised (0 as well when the check was already done)."""
    return len(publication_check(check_id=check_id))


@shared_task(bind=True, ignore_result=True, acks_late=True, reject_on_worker_lost=True, **_RETRIED)
def mail_alert(self, alert_id: int) -> str:
    """One attempt at an alert's e-mail; it queues its own next look when the e-mail is to
    be tried again (alerts.mailing)."""
    outcome = mail_attempt(alert_id=alert_id)
    if outcome.retry_at is not None:
        mail_queue(alert_id, eta=outcome.retry_at)
    return "sent" if outcome.sent else "not sent"
