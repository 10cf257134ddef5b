"""The Redis cache backend used in production (django-redis) against a real Redis: one client
per pool, the throttle's one-round-trip window counter, and the API's rate limit counted
there. Needs REDIS_URL (CI sets it); skipped locally without it."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from django_redis.cache import RedisCache

from accounts.throttling import count_in_window
from tests.conftest import require


def reachable(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def redis_cache():
    url = settings.REDIS_URL
    require(bool(url) and reachable(url), "Redis (REDIS_URL)")
    cache = RedisCache(url, {"KEY_PREFIX": f"test-{uuid.uuid4().hex}"})
    yield cache
    cache.clear()


def test_one_client_serves_every_operation(redis_cache):
    inner = redis_cache.client
    first = inner.get_client(write=False)
    assert first is inner.get_client(write=True)
    redis_cache.set("k", {"v": 1}, 30)
    assert redis_cache.get("k") == {"v": 1}
    assert redis_cache.add("k", 2, 30) is False
    assert redis_cache.add("n", 0, 30) is True
    assert redis_cache.incr("n") == 1
    assert inner.get_client() is first


def test_the_window_counter_counts_and_expires(redis_cache):
    assert [count_in_window(redis_cache, "w", 5) for _ in range(3)] == [1, 2, 3]
    client = redis_cache.client.get_client()
    ttl = client.ttl(redis_cache.make_and_validate_key("w"))
    assert 0 < ttl <= 5
    # The counter reads back like any cached integer.
    assert redis_cache.get("w") == 3


@pytest.mark.django_db
def test_the_api_rate_limit_is_counted_in_redis(api, world, monkeypatch, redis_cache):
    from rest_framework.throttling import ScopedRateThrottle

    from accounts.throttling import ScopedWindowThrottle

    rates = {**ScopedRateThrottle.THROTTLE_RATES, "predict": "3/hour"}
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(ScopedWindowThrottle, "cache", redis_cache)
    client = api("marketing")
    body = {"customer_id": world.customer_ids[0]}
    codes = [
        client.post("/api/v1/predict/", body, content_type="application/json").status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
