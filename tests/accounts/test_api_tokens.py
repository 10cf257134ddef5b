import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken
from accounts.roles import MANAGER, ROLE_PERMISSIONS

pytestmark = pytest.mark.django_db


def obtain_token(username: str, password: str, *, read_only: bool = False) -> str:
    response = Client().post(
        reverse("api-token-create"),
        {"username": username, "password": password, "name": "CRM", "read_only": read_only},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["read_only"] is read_only
    return body["token"]


def api(token: str) -> Client:
    return Client(headers={"Authorization": f"Token {token}"})


def test_a_token_acts_with_its_users_role(make_user):
    make_user("manager", username="mia", password="pw-for-tests-1")
    token = obtain_token("mia", "pw-for-tests-1")
    response = api(token).get(reverse("api-me"))
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "mia"
    assert body["workspace"] == {
        "slug": "shop",
        "name": "Test shop",
        "currency": "GBP",
        "time_zone": settings.TIME_ZONE,
    }
    assert body["role"] == "manager"
    assert body["roles"] == ["manager"]
    assert "manage_runs" in body["capabilities"]
    assert body["read_only_token"] is False
    assert api(token).post(reverse("api-worker")).status_code == 202


def test_tokens_are_stored_hashed(make_user):
    make_user("marketing", username="mo", password="pw-for-tests-1")
    token = obtain_token("mo", "pw-for-tests-1")
    stored = ApiToken.unscoped.get(user__username="mo")
    assert token not in (stored.digest, stored.token_key)
    assert stored.token_key == token[: len(stored.token_key)]
    assert len(stored.digest) == 128  # sha512 hex


def test_wrong_password_gets_no_token(make_user):
    make_user("marketing", username="mo", password="pw-for-tests-1")
    response = Client().post(
        reverse("api-token-create"),
        {"username": "mo", "password": "nope"},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert ApiToken.unscoped.count() == 0


def test_a_revoked_token_is_refused(make_user):
    user = make_user("manager", username="mia", password="pw-for-tests-1")
    token = obtain_token("mia", "pw-for-tests-1")
    assert api(token).get(reverse("api-me")).status_code == 200
    # Revoked from the tokens page by its owner.
    page = Client()
    page.force_login(user)
    stored = ApiToken.unscoped.get(user=user)
    response = page.post(reverse("api-token-revoke", args=[stored.token_key]))
    assert response.status_code == 302
    refused = api(token).get(reverse("api-me"))
    assert refused.status_code == 401
    assert refused.json()["detail"]


def test_a_token_can_revoke_itself(make_user):
    make_user("marketing", username="mo", password="pw-for-tests-1")
    token = obtain_token("mo", "pw-for-tests-1", read_only=True)
    assert api(token).post(reverse("api-token-revoke-current")).status_code == 204
    assert api(token).get(reverse("api-me")).status_code == 401


def test_users_cannot_revoke_each_others_tokens(make_user):
    make_user("manager", username="mia", password="pw-for-tests-1")
    other = make_user("manager", username="max", password="pw-for-tests-2")
    token = obtain_token("mia", "pw-for-tests-1")
    page = Client()
    page.force_login(other)
    page.post(reverse("api-token-revoke", args=[ApiToken.unscoped.get().token_key]))
    assert api(token).get(reverse("api-me")).status_code == 200


def test_read_only_tokens_cannot_write_even_for_a_manager(make_user):
    make_user("manager", username="mia", password="pw-for-tests-1")
    token = obtain_token("mia", "pw-for-tests-1", read_only=True)
    assert api(token).get(reverse("api-worker")).status_code == 200
    response = api(token).post(reverse("api-worker"))
    assert response.status_code == 403
    assert response.json()["detail"] == "This API token is read-only."


def test_tokens_page_shows_the_secret_once_and_lists_tokens(client_for):
    client = client_for("marketing")
    response = client.post(reverse("api-tokens"), {"name": "Mailer", "read_only": "on"})
    assert response.status_code == 200
    secret = response.context["new_secret"]
    assert secret and secret in response.content.decode()
    listing = client.get(reverse("api-tokens")).content.decode()
    assert "Mailer" in listing and "read-only" in listing
    assert secret not in listing
    assert api(secret).get(reverse("api-me")).json()["read_only_token"] is True


def test_tokens_page_keeps_input_and_shows_errors(client_for):
    response = client_for("marketing").post(reverse("api-tokens"), {"name": ""})
    assert response.status_code == 200
    assert b"This field is required" in response.content
    assert ApiToken.unscoped.count() == 0


def test_an_expired_token_is_refused_and_removed(make_user):
    from datetime import timedelta

    from django.utils import timezone

    make_user("marketing", username="mo", password="pw-for-tests-1")
    token = obtain_token("mo", "pw-for-tests-1")
    ApiToken.unscoped.update(expiry=timezone.now() - timedelta(seconds=1))
    assert api(token).get(reverse("api-me")).status_code == 401
    assert not ApiToken.unscoped.exists()


def test_creating_a_token_sweeps_the_users_expired_ones(make_user):
    from datetime import timedelta

    from django.utils import timezone

    make_user("marketing", username="mo", password="pw-for-tests-1")
    obtain_token("mo", "pw-for-tests-1")
    ApiToken.unscoped.update(expiry=timezone.now() - timedelta(days=1))
    fresh = obtain_token("mo", "pw-for-tests-1")
    assert ApiToken.unscoped.count() == 1
    assert api(fresh).get(reverse("api-me")).status_code == 200


def test_token_requests_cost_few_queries(make_user, django_assert_max_num_queries):
    make_user("manager", username="mia", password="pw-for-tests-1")
    token = obtain_token("mia", "pw-for-tests-1")
    client = api(token)
    client.get(reverse("api-me"))  # the first use records last_used_at
    # The token with its user and workspace, the membership, the user's own permissions.
    with django_assert_max_num_queries(3):
        response = client.get(reverse("api-me"))
    # the manager role's accounts capabilities (accounts/roles.py), by their short names
    assert response.json()["capabilities"] == sorted(
        p.split(".", 1)[1] for p in ROLE_PERMISSIONS[MANAGER] if p.startswith("accounts.")
    )
    assert "manage_runs" in response.json()["capabilities"]
