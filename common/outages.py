"""The broker or the cache is down: a clear 503 with Retry-After, never a 500.

A request that needs Redis (a rate limit's count, queueing a run or an import) fails with
one of OUTAGE_ERRORS while it is unreachable. The API's exception handler
(common.api_errors) and, for pages, OutageMiddleware turn those into 503 with Retry-After;
pages that need neither keep working (sessions and lockouts live in the database). A run or
import committed before its message could be sent stays queued and is sent again by the
workers' reaper once the broker is back (QueuedRowTask below; clustering/tasks.py).
"""

from __future__ import annotations

import logging

from celery.contrib.django.task import DjangoTask
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django_redis.exceptions import ConnectionInterrupted
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# kombu's OperationalError is what a publish raises when the broker cannot be reached; the
# others are the cache's (raw redis-py from a pipeline, django-redis's wrapper otherwise).
OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    BrokerError,
    RedisConnectionError,
    RedisTimeoutError,
    ConnectionInterrupted,
)
RETRY_AFTER_SECONDS = 30
OUTAGE_MESSAGE = (
    "A service this request needs (the task queue or the cache) is unavailable. "
    f"Try again in {RETRY_AFTER_SECONDS} seconds. A run or import you just started was "
    "saved and starts by itself once the queue is back: check the list before retrying."
)
# What a queued run's or import's stage says while its message waits for the broker.
WAITING_FOR_THE_QUEUE = "waiting for the queue"


def is_outage(exc: BaseException) -> bool:
    return isinstance(exc, OUTAGE_ERRORS)


class OutageMiddleware:
    """Pages (and any API path DRF did not answer): an outage error becomes a 503."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not is_outage(exception):
            return None
        logger.warning("%s %s: service unavailable: %r", request.method, request.path, exception)
        if request.path_info.startswith("/api/"):
            response: HttpResponse = JsonResponse(
                {"status": 503, "code": "unavailable", "detail": OUTAGE_MESSAGE, "fields": {}},
                status=503,
            )
        else:
            response = HttpResponse(
                render_to_string("503.html", {"message": OUTAGE_MESSAGE}), status=503
            )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


class QueuedRowTask(DjangoTask):
    """A task whose first argument is a queued row's id: when its message cannot be sent,
    the row is marked WAITING_FOR_THE_QUEUE (record_undelivered) before the error goes on,
    so the reaper knows which rows no worker can take and sends them again."""

    def record_undelivered(self, row_id: int) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def apply_async(self, args=None, kwargs=None, **options):
        try:
            return super().apply_async(args, kwargs, **options)
        except BrokerError:
            row_id = next(iter(args or ()), None)
            try:
                self.record_undelivered(row_id)
            except Exception:
                logger.exception("%s(%s): marking the row undelivered failed", self.name, row_id)
            raise
