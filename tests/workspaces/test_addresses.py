"""How a request finds its workspace (accounts/workspace_access.py): /w/<slug>/ serves the
site inside that workspace and every link it gives stays there; a path without the prefix
is served in the user's current workspace (the last visited); a non-member, an unknown
slug and the admin site under a prefix get 404; a visitor is sent to sign in first."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def both(make_user, shop, other_shop):
    """A manager in shop who is marketing in other-shop."""
    from tests.shops import join

    user = make_user("manager", username="both-shops")
    join(user, other_shop, "marketing")
    client = Client()
    client.force_login(user)
    return client


def _links(response) -> set[str]:
    return set(re.findall(r'href="(/[^"]*)"', response.content.decode()))


def test_a_workspace_page_links_stay_in_that_workspace(both):
    response = both.get("/w/other-shop/")
    assert response.status_code == 200
    own = {link for link in _links(response) if not link.startswith(("/static/", "/w/"))}
    # Signing out and the workspace list are outside any workspace; nothing else is.
    assert own <= {reverse("logout"), "/workspaces/", "/account/password/"}, own
    assert f"/w/other-shop{reverse('customer-lookup')}" in _links(response)


def test_the_role_is_the_one_held_in_the_addressed_workspace(both):
    runs = reverse("clustering:run-list")
    assert both.get(f"/w/shop{runs}").status_code == 200
    assert both.get(f"/w/other-shop{runs}").status_code == 403


def test_without_a_prefix_the_last_visited_workspace_serves(both):
    runs = reverse("clustering:run-list")
    both.get("/w/other-shop/")
    assert both.get(runs).status_code == 403  # marketing in other-shop
    both.get("/w/shop/")
    assert both.get(runs).status_code == 200  # manager in shop


def test_a_non_member_and_an_unknown_workspace_get_404(make_user, other_shop):
    client = Client()
    client.force_login(make_user("admin", username="shop-admin"))
    assert client.get("/w/other-shop/").status_code == 404
    assert client.get("/w/no-such-shop/").status_code == 404


def test_the_admin_site_is_not_reachable_under_a_workspace(both, django_user_model, shop):
    from tests.shops import join

    staff = django_user_model.objects.create_user("staff-admin", password="pw-staff-1")
    staff.is_staff = True
    staff.save()
    join(staff, shop, "admin")
    client = Client()
    client.force_login(staff)
    assert client.get("/w/shop/admin/").status_code == 404
    assert client.get("/w/shop/admin/auth/user/").status_code == 404


def test_a_visitor_signs_in_first_and_comes_back(shop):
    response = Client().get("/w/shop/runs/")
    assert response.status_code == 302
    assert "login" in response["Location"] and "next=/w/shop/runs/" in response["Location"]


def test_a_user_in_no_workspace_is_told_to_ask_an_administrator(make_user):
    client = Client()
    client.force_login(make_user(None, username="no-shop"))
    response = client.get("/")
    assert response.status_code == 403
    assert "administrator" in response.content.decode().lower()
