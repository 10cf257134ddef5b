import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_repeated_wrong_passwords_lock_the_account_out(make_user, settings):
    make_user("marketing", username="alice", password="right-password-1")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
        assert response.status_code == 200
        assert b"Please enter a correct username and password" in response.content
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 429
    assert b"Too many failed sign-in attempts" in response.content
    # Locked out: even the right password is refused now.
    response = client.post(reverse("login"), {"username": "alice", "password": "right-password-1"})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_other_users_are_not_locked_out_by_someone_elses_failures(make_user, settings):
    make_user("marketing", username="alice", password="right-password-1")
    make_user("marketing", username="bob", password="right-password-2")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "bob", "password": "right-password-2"})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_api_token_endpoint_is_throttled_by_lockout_too(make_user, settings):
    make_user("manager", username="carol", password="right-password-3")
    client = Client()
    url = reverse("api-token-create")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(url, {"username": "carol", "password": "nope"}, content_type="application/json")
    response = client.post(
        url, {"username": "carol", "password": "right-password-3"}, content_type="application/json"
    )
    assert response.status_code == 429
    assert response.json() == {
        "status": 429,
        "code": "locked_out",
        "detail": "Too many failed sign-in attempts: this account is locked for now. "
        "Try again later.",
        "fields": {},
    }


def test_weak_passwords_are_rejected_on_password_change(client_for):
    client = client_for("marketing")
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "pw-for-tests-1",
            "new_password1": "12345678",
            "new_password2": "12345678",
        },
    )
    assert response.status_code == 200
    assert b"This password is too short" in response.content
    assert b"This password is entirely numeric" in response.content


def test_api_rate_limits_count_per_window_and_say_when_to_retry(make_user, monkeypatch):
    from accounts.throttling import ScopedWindowThrottle

    make_user("marketing", username="rita", password="right-password-4")
    rates = {**ScopedWindowThrottle.THROTTLE_RATES, "auth": "2/hour"}
    # monkeypatch removes the class attribute afterwards (it is inherited, not ours).
    monkeypatch.setattr(ScopedWindowThrottle, "THROTTLE_RATES", rates)
    client = Client()
    url = reverse("api-token-create")
    body = {"username": "rita", "password": "right-password-4"}
    codes = [client.post(url, body, content_type="application/json").status_code for _ in range(3)]
    assert codes == [201, 201, 429]
    refused = client.post(url, body, content_type="application/json")
    assert 0 < int(refused["Retry-After"]) <= 3600
