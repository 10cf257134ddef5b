"""API rate limits per scope (predict, imports, runs, auth), counted in O(1) per request,
and the sign-in limits shared by the token endpoint and the login page.

Every limit counts the client's address as common/client_ip.py resolves it from the proxy
chain the settings describe, so a forged X-Forwarded-For starts no new count.
"""

import hashlib

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.base import BaseCache
from django.http import HttpRequest
from django_redis.cache import RedisCache
from rest_framework.throttling import ScopedRateThrottle

from common.client_ip import client_ip


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
    for abuse protection. Anonymous callers are counted by client_ip, not by DRF's reading
    of X-Forwarded-For (which trusts the whole header unless NUM_PROXIES is set).
    """

    @property
    def cache(self) -> BaseCache:
        """The default cache itself (DRF holds Django's proxy, whose type does not show)."""
        return caches[DEFAULT_CACHE_ALIAS]

    def get_ident(self, request) -> str:
        return client_ip(request)

    def allow_request(self, request, view) -> bool:
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        return self.count_and_allow()

    def count_and_allow(self) -> bool:
        """Count this request under self.key in self.scope's current window."""
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_end = (window + 1) * self.duration
        count = count_in_window(self.cache, f"{self.key}:{window}", self.duration + 1)
        return count <= self.num_requests

    def wait(self) -> float | None:
        return max(0.0, self.window_end - self.now)


class _SignInThrottle(ScopedWindowThrottle):
    """A sign-in limit: its own scope and key, whatever the view's throttle_scope."""

    sign_in_scope = ""

    def sign_in_key(self, request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        self.scope = self.sign_in_scope
        self.key = self.sign_in_key(request)
        if self.key is None:
            return True
        return self.count_and_allow()


class SignInAddressThrottle(_SignInThrottle):
    """Sign-in attempts per client address, whatever the usernames (spraying from one place).

    Rate: THROTTLE_AUTH ("auth" scope).
    """

    sign_in_scope = "auth"

    def sign_in_key(self, request) -> str | None:
        return f"throttle_signin_address_{client_ip(request)}"


class SignInUsernameThrottle(_SignInThrottle):
    """Sign-in attempts per username, whatever the addresses (one account from many places).

    Rate: THROTTLE_AUTH_USERNAME ("auth_username" scope). The username is hashed into the
    key (any text fits), case-folded so "Alice" and "alice" share one count.
    """

    sign_in_scope = "auth_username"

    def sign_in_key(self, request) -> str | None:
        username = submitted_username(request)
        if not username:
            return None
        digest = hashlib.sha256(username.strip().casefold().encode("utf-8", "replace"))
        return f"throttle_signin_username_{digest.hexdigest()[:40]}"


SIGN_IN_THROTTLES = (SignInAddressThrottle, SignInUsernameThrottle)


def submitted_username(request) -> str:
    """The username a sign-in request carries: a JSON or form body (API) or the login form."""
    data = getattr(request, "data", None)
    if data is None:
        data = request.POST
    try:
        value = data.get("username", "")
    except AttributeError:  # a JSON body that is not an object
        return ""
    return value if isinstance(value, str) else ""


def sign_in_wait(request: HttpRequest) -> float | None:
    """Count a sign-in attempt against both limits; the seconds to wait if one refuses it.

    The login page's check; the token endpoint has the same two throttles as DRF classes,
    so both count the same keys and an attacker gains nothing by switching between them.
    """
    waits = []
    for throttle_class in SIGN_IN_THROTTLES:
        throttle = throttle_class()
        if not throttle.allow_request(request, None):
            waits.append(throttle.wait() or 0.0)
    return max(waits) if waits else None
