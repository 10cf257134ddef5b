"""Celery task: a publication's check against the workspace's alert rules, by id."""

from __future__ import annotations

from celery import shared_task

from clustering.services import TRANSIENT_ERRORS

from .services import publication_check


@shared_task(
    bind=True,
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT_ERRORS,
    max_retries=3,
    retry_backoff=5,
    retry_jitter=True,
)
def check_publication(self, check_id: int) -> int:
    """The number of alerts raised (0 as well when the check was already done)."""
    return len(publication_check(check_id=check_id))
