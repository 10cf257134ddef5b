"""Celery tasks: a publication's check against the workspace's alert rules, and an alert's
e-mail sent again, each by id."""

from __future__ import annotations

from celery import shared_task

from clustering.services import TRANSIENT_ERRORS

from .services import alert_mail, publication_check

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
    """Who the e-mail went to, or why it was refused again."""
    alert = alert_mail(alert_id=alert_id)
    return alert.mailed_to or alert.mail_error
