"""API rate limits per scope (predict, imports, runs, auth), counted in O(1) per request."""

from rest_framework.throttling import ScopedRateThrottle


class ScopedWindowThrottle(ScopedRateThrottle):
    """DRF's ScopedRateThrottle with a fixed-window counter.

    DRF keeps the timestamp of every request of the last window in the cache and reads and
    writes that whole list on each request: at thousands of requests a minute that costs
    milliseconds on the real-time predict path. A counter per window (cache add + incr, one
    or two Redis round trips) costs the same at any rate; a client may burst up to twice the
    rate across a window boundary, which is fine for abuse protection.
    """

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
        key = f"{self.key}:{window}"
        incr_window = getattr(self.cache, "incr_window", None)
        if incr_window is not None:  # Redis (segmentation_site.cache): one round trip
            return incr_window(key, self.duration + 1) <= self.num_requests
        if self.cache.add(key, 1, self.duration + 1):
            return True
        try:
            count = self.cache.incr(key)
        except ValueError:  # expired between add and incr: a new window
            self.cache.add(key, 1, self.duration + 1)
            count = 1
        return count <= self.num_requests

    def wait(self) -> float | None:
        return max(0.0, self.window_end - self.now)
