"""The client's address from the proxy chain the settings describe, and sign-in limits that
hold against forged headers, spraying across usernames and one username from many places
(issue 23, findings 2 and 3)."""

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.throttling import ScopedWindowThrottle
from common.client_ip import client_ip

PROXY = "10.0.0.2"


def request_from(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.fixture
def one_proxy(settings):
    settings.BEHIND_PROXY = True
    settings.PROXY_COUNT = 1
    return settings


@pytest.fixture
def auth_rates(monkeypatch):
    """Set the sign-in rates for a test (monkeypatch removes the inherited attribute after).
    The throttle's clock stands still in the middle of a window: the counts are per fixed
    window, and a test that crossed a minute boundary would start counting again."""
    monkeypatch.setattr(ScopedWindowThrottle, "timer", lambda self: 1_800_000_030.0)

    def set_rates(*, address: str = "1000/min", username: str = "1000/min") -> None:
        rates = {
            **ScopedWindowThrottle.THROTTLE_RATES,
            "auth": address,
            "auth_username": username,
        }
        monkeypatch.setattr(ScopedWindowThrottle, "THROTTLE_RATES", rates)

    return set_rates


# ------------------------------------------------------------------------- client_ip
def test_without_a_proxy_the_forwarded_header_is_ignored(settings):
    settings.BEHIND_PROXY = False
    settings.PROXY_COUNT = 3  # no effect without BEHIND_PROXY
    assert client_ip(request_from("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_one_proxy_takes_the_last_forwarded_address(one_proxy):
    # The client sent "1.1.1.1" itself; the proxy appended the address it saw.
    assert client_ip(request_from(PROXY, "1.1.1.1, 203.0.113.9")) == "203.0.113.9"
    assert client_ip(request_from(PROXY, "203.0.113.9")) == "203.0.113.9"


def test_two_proxies_take_the_second_address_from_the_right(settings):
    settings.BEHIND_PROXY = True
    settings.PROXY_COUNT = 2
    # client -> proxy A (appends the client) -> proxy B (appends A) -> us (REMOTE_ADDR = B)
    header = "1.1.1.1, 203.0.113.9, 10.0.0.1"
    assert client_ip(request_from(PROXY, header)) == "203.0.113.9"


@pytest.mark.parametrize("header", [None, "", "not-an-address", "203.0.113.9, ,"])
def test_a_short_or_malformed_chain_falls_back_to_the_connection(settings, header):
    settings.BEHIND_PROXY = True
    settings.PROXY_COUNT = 2 if header is None or header == "" else 1
    assert client_ip(request_from(PROXY, header)) == PROXY


def test_behind_a_proxy_the_count_defaults_to_one():
    from segmentation_site.settings import base

    assert (1 if base.BEHIND_PROXY else 0) == base.PROXY_COUNT


# ------------------------------------------------------------------------- lockout
def _fail_login(client: Client, username: str, forwarded: str):
    return client.post(
        reverse("login"),
        {"username": username, "password": "wrong"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


@pytest.mark.django_db
def test_lockout_is_per_username_and_forwarded_address(make_user, one_proxy):
    make_user("marketing", username="alice", password="right-password-1")
    client = Client()
    for _ in range(one_proxy.AXES_FAILURE_LIMIT):
        response = _fail_login(client, "alice", "1.1.1.1, 203.0.113.9")
    assert response.status_code == 429
    attempt = AccessAttempt.objects.get(username="alice")
    assert attempt.ip_address == "203.0.113.9"  # the client, not the proxy, nor the forgery

    # The same username from another client address signs in.
    response = Client().post(
        reverse("login"),
        {"username": "alice", "password": "right-password-1"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    assert response.status_code == 302


@pytest.mark.django_db
def test_lockout_with_two_proxies_records_the_client(make_user, settings):
    settings.BEHIND_PROXY = True
    settings.PROXY_COUNT = 2
    make_user("marketing", username="alice", password="right-password-1")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _fail_login(Client(), "alice", "6.6.6.6, 203.0.113.9, 10.0.0.1")
    assert AccessAttempt.objects.get(username="alice").ip_address == "203.0.113.9"


@pytest.mark.django_db
def test_an_administrator_unlocks_a_username(make_user, one_proxy):
    make_user("marketing", username="alice", password="right-password-1")
    client = Client()
    for _ in range(one_proxy.AXES_FAILURE_LIMIT):
        _fail_login(client, "alice", "203.0.113.9")
    good = {"username": "alice", "password": "right-password-1"}
    headers = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert client.post(reverse("login"), good, **headers).status_code == 429

    call_command("axes_reset_username", "alice")

    assert client.post(reverse("login"), good, **headers).status_code == 302


# ------------------------------------------------------------------------- token endpoint
def _token(client: Client, username: str, **headers):
    return client.post(
        reverse("api-token-create"),
        {"username": username, "password": "wrong-password"},
        content_type="application/json",
        **headers,
    )


@pytest.mark.django_db
def test_a_new_forwarded_header_each_try_does_not_reset_the_limit(auth_rates, settings):
    """Finding 3: without a proxy, X-Forwarded-For is the client's text and counts nothing."""
    settings.BEHIND_PROXY = False
    auth_rates(address="5/min")
    client = Client()
    codes = [
        _token(client, f"user{i}", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}").status_code
        for i in range(7)
    ]
    assert codes == [401] * 5 + [429] * 2


@pytest.mark.django_db
def test_spraying_usernames_from_one_address_is_slowed(auth_rates, one_proxy):
    auth_rates(address="4/min")
    client = Client()
    headers = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    codes = [_token(client, f"user{i}", **headers).status_code for i in range(5)]
    assert codes == [401, 401, 401, 401, 429]
    refused = _token(client, "someone-else", **headers)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    # Another client behind the same proxy is not slowed.
    other = _token(client, "user0", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert other.status_code == 401


@pytest.mark.django_db
def test_one_username_from_many_addresses_is_slowed(auth_rates, one_proxy):
    auth_rates(username="3/min")
    client = Client()
    codes = [
        _token(
            client, "carol", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}"
        ).status_code
        for i in range(5)
    ]
    assert codes == [401, 401, 401, 429, 429]
    # Case does not start a new count.
    assert _token(client, "CAROL", REMOTE_ADDR=PROXY).status_code == 429
    # Another username is not slowed.
    assert _token(client, "dave", REMOTE_ADDR=PROXY).status_code == 401


# ------------------------------------------------------------------------- login page
def _login(client: Client, username: str, forwarded: str, password: str = "wrong"):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


@pytest.mark.django_db
def test_the_login_page_slows_spraying_from_one_address(auth_rates, one_proxy):
    auth_rates(address="3/min")
    client = Client()
    codes = [_login(client, f"user{i}", "203.0.113.9").status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = _login(client, "user9", "203.0.113.9")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert b"Too many sign-in attempts" in refused.content
    assert b'value="user9"' in refused.content  # the form comes back with the username


@pytest.mark.django_db
def test_the_login_page_slows_one_username_from_many_addresses(auth_rates, make_user, one_proxy):
    make_user("marketing", username="alice", password="right-password-1")
    auth_rates(username="3/min")
    client = Client()
    codes = [_login(client, "alice", f"198.51.100.{i}").status_code for i in range(3)]
    assert codes == [200, 200, 200]
    # Even the right password waits: the attempt is refused before any password check.
    refused = _login(client, "alice", "198.51.100.99", password="right-password-1")
    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session
    assert not AccessAttempt.objects.filter(ip_address="198.51.100.99").exists()


@pytest.mark.django_db
def test_the_login_page_and_the_token_endpoint_share_one_count(auth_rates, one_proxy):
    auth_rates(address="4/min")
    client = Client()
    headers = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert _login(client, "a", "203.0.113.9").status_code == 200
    assert _token(client, "b", **headers).status_code == 401
    assert _login(client, "c", "203.0.113.9").status_code == 200
    assert _token(client, "d", **headers).status_code == 401
    assert _login(client, "e", "203.0.113.9").status_code == 429
    assert _token(client, "f", **headers).status_code == 429


@pytest.mark.django_db
def test_a_lockout_says_when_to_retry(make_user, settings):
    make_user("marketing", username="alice", password="right-password-1")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) == int(settings.AXES_COOLOFF_TIME.total_seconds())
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = _token(client, "alice")
    assert response.status_code == 429
    assert int(response["Retry-After"]) == int(settings.AXES_COOLOFF_TIME.total_seconds())
