"""Which addresses may receive webhooks: http(s) hosts that resolve only to public internet
addresses (pure, with a stub resolver), and the setting that lets private ones through."""

from __future__ import annotations

import pytest

from webhooks.addresses import AddressRefused, HostUnresolved, check_url


def resolver(table: dict[str, list[str]]):
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"no such host {host}")
        return table[host]

    return resolve


PUBLIC = resolver({"hooks.example.com": ["93.184.215.14"], "v6.example.com": ["2606:4700::1"]})


def test_a_public_host_is_checked_into_the_address_to_connect_to():
    target = check_url("https://hooks.example.com/in?x=1", allow_private=False, resolver=PUBLIC)
    assert (target.scheme, target.host, target.port, target.path, target.address) == (
        "https", "hooks.example.com", 443, "/in?x=1", "93.184.215.14"
    )  # fmt: skip
    target = check_url("http://v6.example.com:8080", allow_private=False, resolver=PUBLIC)
    assert (target.port, target.path, target.address) == (8080, "/", "2606:4700::1")


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("172.16.5.4", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - an address refused, not bound
        ("240.0.0.1", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),  # an IPv4 address written as IPv6
        ("100.64.0.1", "non-public"),  # carrier-grade NAT
        ("fd00::5", "private"),
    ],
)
def test_addresses_that_are_not_public_are_refused_by_kind(address, kind):
    literal = f"[{address}]" if ":" in address else address
    with pytest.raises(AddressRefused, match=f"is a {kind} address"):
        check_url(f"https://{literal}/hook", allow_private=False)
    # ... also when a name resolves there, which the message says
    sneaky = resolver({"inside.example.com": ["93.184.215.14", address]})
    with pytest.raises(AddressRefused, match=f"resolves to {address}, which is a {kind}"):
        check_url("https://inside.example.com/", allow_private=False, resolver=sneaky)


def test_the_setting_lets_private_addresses_through():
    target = check_url("http://127.0.0.1:9000/hook", allow_private=True)
    assert (target.address, target.port) == ("127.0.0.1", 9000)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://hooks.example.com/x", "Only http:// and https://"),
        ("file:///etc/passwd", "Only http:// and https://"),
        ("hooks.example.com/x", "Only http:// and https://"),
        ("https:///path-only", "no host name"),
        ("https://user:pw@hooks.example.com/x", "user name and password"),
        ("https://hooks.example.com:99999/x", "not a valid address"),
    ],
)
def test_what_is_not_an_http_address_is_refused_clearly(url, message):
    with pytest.raises(AddressRefused, match=message):
        check_url(url, allow_private=True, resolver=PUBLIC)


def test_a_host_that_does_not_resolve_is_named():
    with pytest.raises(HostUnresolved, match="nowhere.example.com could not be resolved"):
        check_url("https://nowhere.example.com/", allow_private=False, resolver=PUBLIC)
