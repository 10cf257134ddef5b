"""API rate limits per scope (predict, imports, runs, auth), counted in O(1) per request."""

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.base import BaseCache
from django_redis.cache import RedisCache
from rest_framework.throttling import ScopedRateThrottle


def count_in_window(cache: BaseCache, key: str, timeout: int) -> int:
    """Add one to the window's counter, creating it with a lifetime if it is new.

    On Redis (django-redis) one round trip: SET NX EX and INCR in one pipeline on the cache's
    own client. Other caches: add, then incr when the counter already exists.
    """
    if isinstance(cache, RedisCache):
        key = cache.make_and_validate_key(key)
        pipe = cache.client.get_client(write=True).pipeline(transaction=False)
        pipe.set(key, 0, ex=timeout, nx=True)
        pipe.incr(key)
        return pipe.execute()[1]
    if cache.add(key, 1, timeout):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: a new window
        cache.add(key, 1, timeout)
        return 1


class ScopedWindowThrottle(ScopedRateThrottle):
    """DRF's ScopedRateThrottle with a fixed-window counter.

    DRF keeps the timestamp of every request of the last window in the cache and reads and
    writes that whole list on each request: at thousands of requests a minute that costs
    milliseconds on the real-time predict path. A counter per window costs the same at any
    rate; a client may burst up to twice the rate across a window boundary, which is fine
    for abuse protection.
    """

    @property
    def cache(self) -> BaseCache:
        """The default cache itself (DRF holds Django's proxy, whose type does not show)."""
        return caches[DEFAULT_CACHE_ALIAS]

    def allow_request(self, request, view) -> bool:
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_end = (window + 1) * self.duration
        count = count_in_window(self.cache, f"{self.key}:{window}", self.duration + 1)
        return count <= self.num_requests

    def wait(self) -> float | None:
        return max(0.0, self.window_end - self.now)
