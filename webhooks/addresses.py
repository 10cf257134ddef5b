"""Where a webhook may be sent: http(s) addresses whose host resolves only to public
internet addresses, checked at registration and again at every delivery (DNS may have
changed). The delivery then connects to the address checked here (webhooks.transport), not
to a second lookup's answer. Pure: the caller says whether private addresses are allowed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
SCHEMES = {"http": 80, "https": 443}


class AddressRefused(ValueError):
    """The address may not receive webhooks; the message says why, for the user."""


class FormatRefused(AddressRefused):
    """The address takes events in another format only (webhooks.models.format_refused)."""


class HostUnresolved(AddressRefused):
    """The host did not resolve: refused at registration, tried again at delivery (DNS
    trouble passes)."""


@dataclass(frozen=True)
class Target:
    """A checked address: connect to `address`, speak to `host` (Host header, TLS name)."""

    scheme: str
    host: str
    port: int
    path: str  # path and query, as the request line carries them
    address: str


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to (a literal address resolves to itself)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def why_not_public(ip: IPAddress) -> str | None:
    """What kind of non-public address `ip` is, or None when it is a public one."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        # what is left that the internet does not route (e.g. 100.64.0.0/10, carrier NAT)
        ("non-public", not ip.is_global),
    )
    return next((kind for kind, hit in checks if hit), None)


def check_url(url: str, *, allow_private: bool, resolver: Resolver = resolve) -> Target:
    """The target to connect to for `url`, or AddressRefused saying what is wrong."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise AddressRefused(f"{url!r} is not a valid address ({error}).") from error
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise AddressRefused(
            f"Only http:// and https:// addresses can receive webhooks, not {scheme or 'no'}"
            " scheme."
        )
    host = parts.hostname
    if not host:
        raise AddressRefused("The address has no host name, e.g. https://hooks.example.com/x.")
    if parts.username or parts.password:
        raise AddressRefused(
            "Leave the user name and password out of the address: receivers check the "
            "signature instead (docs/webhooks.md)."
        )
    port = port or SCHEMES[scheme]
    try:
        addresses = resolver(host, port)
    except (OSError, UnicodeError) as error:
        raise HostUnresolved(f"The host {host} could not be resolved ({error}).") from error
    if not addresses:
        raise AddressRefused(f"The host {host} resolves to no address.")
    if not allow_private:
        # Every answer must be public: a host that also resolves to an inside address
        # could be pointed there on the next lookup.
        for address in addresses:
            kind = why_not_public(ipaddress.ip_address(address.split("%", 1)[0]))
            if kind:
                named = host if host == address else f"{host} resolves to {address}, which"
                raise AddressRefused(
                    f"{named} is a {kind} address: webhooks go only to public internet addresses."
                )
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])
