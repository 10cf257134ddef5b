"""Which workspace a user works in: the token endpoint's choice, what /me says, the switcher
in the page header, the workspaces page, and one user with a different role in each of two
workspaces."""

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import ApiToken
from tests.shops import join

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-1"
TOKEN_URL = "/api/v1/auth/token/"


def ask_token(body: dict, url: str = TOKEN_URL):
    return Client().post(url, {"password": PASSWORD, **body}, content_type="application/json")


def api(token: str) -> Client:
    return Client(headers={"Authorization": f"Token {token}"})


@pytest.fixture
def two_shop_user(make_user, other_shop):
    """Manager in the test shop, marketing in the other shop."""
    user = make_user("manager", username="dana")
    return join(user, other_shop, "marketing")


# ---------------------------------------------------------------- the token endpoint
def test_a_user_with_one_workspace_gets_a_token_there_without_naming_it(make_user):
    make_user("marketing", username="mo")
    response = ask_token({"username": "mo"})
    assert response.status_code == 201
    assert response.json()["workspace"] == "shop"
    me = api(response.json()["token"]).get("/api/v1/me/").json()
    assert me["workspace"]["slug"] == "shop" and me["role"] == "marketing"


def test_a_user_of_several_workspaces_must_name_one(two_shop_user):
    response = ask_token({"username": "dana"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["fields"]["workspace"] == [
        "You belong to several workspaces: name one of other-shop, shop."
    ]
    assert not ApiToken.unscoped.exists()


@pytest.mark.parametrize(
    ("body", "url"),
    [
        ({"workspace": "other-shop"}, TOKEN_URL),
        ({}, "/w/other-shop" + TOKEN_URL),
        ({"workspace": "other-shop"}, "/w/other-shop" + TOKEN_URL),
    ],
    ids=["body", "path", "both"],
)
def test_the_path_or_the_body_names_the_workspace(two_shop_user, body, url):
    response = ask_token({"username": "dana", **body}, url)
    assert response.status_code == 201, response.content
    assert response.json()["workspace"] == "other-shop"
    me = api(response.json()["token"]).get("/api/v1/me/").json()
    assert me["workspace"] == {
        "slug": "other-shop",
        "name": "Other shop",
        "currency": "USD",
        "time_zone": settings.TIME_ZONE,
    }
    assert me["role"] == "marketing"
    assert "manage_runs" not in me["capabilities"]


def test_the_path_and_the_body_must_agree(two_shop_user):
    response = ask_token({"username": "dana", "workspace": "shop"}, "/w/other-shop" + TOKEN_URL)
    assert response.status_code == 400
    assert "workspace" in response.json()["fields"]


def test_a_workspace_the_user_is_not_in_gets_the_same_refusal_whether_it_exists_or_not(
    make_user, other_shop
):
    make_user("marketing", username="mo")
    elsewhere = ask_token({"username": "mo", "workspace": "other-shop"})
    nowhere = ask_token({"username": "mo", "workspace": "no-such-shop"})
    assert elsewhere.status_code == nowhere.status_code == 401
    assert elsewhere.json()["code"] == nowhere.json()["code"] == "authentication_failed"
    assert elsewhere.json()["detail"].replace("other-shop", "X") == nowhere.json()[
        "detail"
    ].replace("no-such-shop", "X")
    by_path = ask_token({"username": "mo"}, "/w/other-shop" + TOKEN_URL)
    assert by_path.status_code == 401
    assert not ApiToken.unscoped.exists()


def test_a_user_in_no_workspace_gets_no_token(make_user):
    make_user(None, username="loner")
    response = ask_token({"username": "loner"})
    assert response.status_code == 401
    assert "site administrator" in response.json()["detail"]


def test_a_wrong_password_says_nothing_about_workspaces(make_user):
    make_user("marketing", username="mo")
    response = Client().post(
        TOKEN_URL,
        {"username": "mo", "password": "nope", "workspace": "no-such-shop"},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid username or password."


def test_a_token_of_one_workspace_is_not_found_under_another(two_shop_user):
    token = ask_token({"username": "dana", "workspace": "shop"}).json()["token"]
    assert api(token).get("/w/shop/api/v1/me/").status_code == 200
    assert api(token).get("/w/other-shop/api/v1/me/").status_code == 404


# ---------------------------------------------------------------- /me for a session
def test_me_in_a_session_answers_for_the_paths_workspace(two_shop_user):
    client = Client()
    client.force_login(two_shop_user)
    assert client.get("/w/shop/api/v1/me/").json()["role"] == "manager"
    other = client.get("/w/other-shop/api/v1/me/").json()
    assert (other["role"], other["workspace"]["currency"]) == ("marketing", "USD")


# ---------------------------------------------------------------- pages
def test_the_header_names_the_workspace_and_links_to_the_others(two_shop_user):
    client = Client()
    client.force_login(two_shop_user)
    page = client.get("/w/shop/").content.decode()
    assert 'data-role="workspace-name">Test shop<' in page
    assert 'href="/w/other-shop/"' in page
    assert 'href="/w/shop/"' not in page.split('data-role="workspace-name"')[1].split("</div>")[0]
    page = client.get("/w/other-shop/").content.decode()
    assert 'data-role="workspace-name">Other shop<' in page
    assert 'href="/w/shop/"' in page


def test_a_user_of_one_workspace_sees_its_name_and_no_switcher(client_for):
    page = client_for("marketing").get("/w/shop/").content.decode()
    assert 'data-role="workspace-name">Test shop<' in page
    assert "Switch workspace" not in page


def test_the_workspaces_page_lists_the_users_workspaces_with_their_roles(two_shop_user):
    from tests.shops import test_shop

    test_shop({"slug": "third", "name": "Third shop", "currency": "EUR"})
    client = Client()
    client.force_login(two_shop_user)
    response = client.get("/workspaces/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'href="/w/shop/"' in page and 'href="/w/other-shop/"' in page
    assert "Third shop" not in page
    assert "manager" in page and "marketing" in page


def test_a_page_without_the_prefix_is_served_in_the_last_workspace_visited(two_shop_user):
    client = Client()
    client.force_login(two_shop_user)
    client.get("/w/other-shop/")
    page = client.get("/").content.decode()
    assert 'data-role="workspace-name">Other shop<' in page


def test_a_workspace_the_user_is_not_in_is_not_found(client_for, other_shop):
    assert client_for("admin").get("/w/other-shop/").status_code == 404


# ---------------------------------------------------------------- a role per workspace
def test_a_manager_in_one_workspace_and_marketing_in_another(two_shop_user):
    client = Client()
    client.force_login(two_shop_user)
    # Manager in the test shop: imports and starts runs.
    assert client.get("/w/shop/runs/new/").status_code == 200
    assert client.get("/w/shop/customers/imports/new/").status_code == 200
    assert client.post("/w/shop/runs/worker/ping/").status_code == 302
    # Marketing in the other shop: neither.
    assert client.get("/w/other-shop/runs/new/").status_code == 403
    assert client.post("/w/other-shop/runs/new/", {"name": "x"}).status_code == 403
    assert client.get("/w/other-shop/customers/imports/new/").status_code == 403
    assert client.post("/w/other-shop/runs/worker/ping/").status_code == 403
    # The navigation follows the role of the workspace shown.
    shop_page = client.get("/w/shop/").content.decode()
    other_page = client.get("/w/other-shop/").content.decode()
    assert "Imports" in shop_page and "Imports" not in other_page
    assert "(manager)" in shop_page and "(marketing)" in other_page
