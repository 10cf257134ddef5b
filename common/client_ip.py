"""The client's address, from the proxy chain the settings describe (one function for all).

Behind N trusted proxies (``BEHIND_PROXY=1``, ``PROXY_COUNT=N``) each proxy appends the
address it received the request from to ``X-Forwarded-For``, and the last proxy is the
connection itself (``REMOTE_ADDR``). The client is therefore the N-th address from the
right; everything to its left was written by the client and is not trusted. Without a
proxy the header is the client's own text and is ignored. django-axes
(``AXES_CLIENT_IP_CALLABLE``) and the API throttles (accounts/throttling.py) both call
``client_ip``, so a lockout and a rate limit count the same address.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def trusted_proxy_count() -> int:
    """How many proxies append to X-Forwarded-For: PROXY_COUNT when BEHIND_PROXY, else 0."""
    if not getattr(settings, "BEHIND_PROXY", False):
        return 0
    return max(0, int(getattr(settings, "PROXY_COUNT", 0)))


def client_ip(request: HttpRequest) -> str:
    """The address the outermost trusted proxy saw, or REMOTE_ADDR without a proxy.

    A header shorter than the chain (a request that bypassed a proxy) or an entry that is
    not an address falls back to REMOTE_ADDR: never to a value the client chose.
    """
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = trusted_proxy_count()
    if proxies == 0:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",")] if forwarded else []
    if len(hops) < proxies:
        return remote
    candidate = hops[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
