"""The role matrix: every page and endpoint, for anonymous users, a signed-in user who
belongs to no workspace, and each role in the test shop."""

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

ROLES = [None, "marketing", "manager", "admin"]

# (method, url name, expected status for: no workspace, marketing, manager, admin). A user
# in no workspace gets the "no workspace" page (403) wherever a workspace is needed.
PAGES = [
    ("get", "home", (403, 200, 200, 200)),
    ("get", "api-tokens", (403, 200, 200, 200)),
    ("get", "members", (403, 403, 403, 200)),
    ("get", "password_change", (200, 200, 200, 200)),
    ("get", "workspace-list", (200, 200, 200, 200)),
    ("post", "clustering:worker-ping", (403, 403, 302, 302)),
    # Django admin is the site administrators' (superusers'): it sends everyone else,
    # the workspace admin role included, to its sign-in page.
    ("get", "admin:index", (302, 302, 302, 302)),
    ("get", "admin:auth_user_changelist", (302, 302, 302, 302)),
]

# Without a workspace the API answers 404 ("No workspace"), except the schema and docs.
API = [
    ("get", "api-me", (404, 200, 200, 200)),
    ("get", "api-worker", (404, 200, 200, 200)),
    ("post", "api-worker", (404, 403, 202, 202)),
    ("get", "api-schema", (200, 200, 200, 200)),
    ("get", "api-docs", (200, 200, 200, 200)),
]


@pytest.mark.parametrize(("method", "name", "expected"), PAGES + API)
@pytest.mark.parametrize("role_index", range(len(ROLES)))
def test_role_matrix(client_for, method, name, expected, role_index):
    client = client_for(ROLES[role_index])
    response = getattr(client, method)(reverse(name))
    assert response.status_code == expected[role_index], (ROLES[role_index], name)


@pytest.mark.parametrize(("method", "name", "_"), PAGES)
def test_anonymous_pages_redirect_to_login(method, name, _):
    response = getattr(Client(), method)(reverse(name))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.parametrize(("method", "name", "_"), [a for a in API if a[1] != "api-docs"])
def test_anonymous_api_requests_are_refused(method, name, _):
    response = getattr(Client(), method)(reverse(name))
    assert response.status_code in (401, 403)
    assert b"Authentication credentials were not provided" in response.content


def test_anonymous_api_docs_page_sends_people_to_sign_in():
    response = Client().get(reverse("api-docs"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_login_page_is_public():
    response = Client().get(reverse("login"))
    assert response.status_code == 200
    assert b"Sign in" in response.content


def test_a_user_in_no_workspace_is_told_to_ask_a_site_administrator(client_for):
    response = client_for(None).get(reverse("home"))
    assert response.status_code == 403
    assert b"ask a site administrator" in response.content.lower()
    assert b'data-role="workspace-name"' not in response.content


def test_forbidden_page_renders_our_403_page(client_for):
    response = client_for("marketing").post(reverse("clustering:worker-ping"))
    assert response.status_code == 403
    assert b"have access to this page" in response.content


@pytest.mark.parametrize(
    ("role", "visible", "hidden"),
    [
        ("marketing", ["Dashboard", "API tokens"], ["Admin", "Members", "Check the worker"]),
        ("manager", ["Dashboard", "Check the worker"], ["Admin", "Members"]),
        ("admin", ["Dashboard", "Members", "Check the worker"], [">Admin<"]),
    ],
)
def test_navigation_shows_only_what_the_role_may_use(client_for, role, visible, hidden):
    page = client_for(role).get(reverse("home")).content.decode()
    for text in visible:
        assert text in page
    for text in hidden:
        assert text not in page
    assert f"({role})" in page


def test_pages_carry_a_strict_content_security_policy(client_for):
    response = client_for("marketing").get(reverse("home"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "<script>" not in response.content.decode()
