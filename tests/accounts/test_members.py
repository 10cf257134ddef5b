"""The workspace's members page: a workspace admin lists this workspace's members, adds an
existing user with a role, changes a role and removes a member; never their own membership,
never a site administrator's, never another workspace's."""

import pytest
from django.test import Client

from accounts.models import ApiToken, Membership
from accounts.services import api_token_create
from tests.shops import join

pytestmark = pytest.mark.django_db

MEMBERS = "/w/shop/account/members/"


@pytest.fixture
def boss(make_user):
    return make_user("admin", username="boss")


@pytest.fixture
def boss_client(boss):
    client = Client()
    client.force_login(boss)
    return client


def role_in(workspace, user) -> str | None:
    membership = Membership.objects.in_workspace(workspace).filter(user=user).first()
    return membership.role if membership else None


def member_id(workspace, user) -> int:
    return Membership.objects.in_workspace(workspace).get(user=user).pk


def test_the_page_lists_this_workspaces_members_only(boss_client, make_user, other_shop):
    make_user("marketing", username="mo")
    make_user("manager", username="otto", workspace=other_shop)
    response = boss_client.get(MEMBERS)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-username="mo"' in page and 'data-username="boss"' in page
    assert "otto" not in page


@pytest.mark.parametrize("role", ["marketing", "manager"])
def test_only_the_admin_role_may_use_it(client_for, role):
    client = client_for(role)
    assert client.get(MEMBERS).status_code == 403
    assert client.post(MEMBERS, {"username": "x", "role": "admin"}).status_code == 403
    assert b"Members" not in client.get("/w/shop/").content


def test_an_admin_adds_an_existing_user_with_a_role(boss_client, make_user, shop):
    newcomer = make_user(None, username="newcomer")
    response = boss_client.post(MEMBERS, {"username": "newcomer", "role": "manager"})
    assert response.status_code == 302
    assert role_in(shop, newcomer) == "manager"
    # They can now work in the workspace with that role.
    client = Client()
    client.force_login(newcomer)
    assert client.get("/w/shop/runs/new/").status_code == 200


@pytest.mark.parametrize(
    ("username", "message"),
    [("nobody-here", "no active user named"), ("boss", "already a member")],
)
def test_adding_an_unknown_user_or_a_member_is_refused_on_the_form(boss_client, username, message):
    response = boss_client.post(MEMBERS, {"username": username, "role": "marketing"})
    assert response.status_code == 400
    assert message in response.content.decode()


def test_an_admin_changes_a_members_role_and_removes_a_member_with_their_tokens(
    boss_client, make_user, shop, other_shop
):
    mo = make_user("marketing", username="mo")
    join(mo, other_shop, "marketing")
    api_token_create(user=mo, workspace=shop, name="shop", read_only=True)
    api_token_create(user=mo, workspace=other_shop, name="other", read_only=True)

    url = f"{MEMBERS}{member_id(shop, mo)}/role/"
    prefix = f"m{member_id(shop, mo)}"
    assert boss_client.post(url, {f"{prefix}-role": "manager"}).status_code == 302
    assert role_in(shop, mo) == "manager"

    response = boss_client.post(f"{MEMBERS}{member_id(shop, mo)}/remove/")
    assert response.status_code == 302
    assert role_in(shop, mo) is None
    assert role_in(other_shop, mo) == "marketing"  # their other workspace is untouched
    assert list(ApiToken.unscoped.filter(user=mo).values_list("name", flat=True)) == ["other"]


def test_an_admin_cannot_change_or_remove_their_own_membership(boss_client, boss, shop):
    own = member_id(shop, boss)
    boss_client.post(f"{MEMBERS}{own}/role/", {f"m{own}-role": "marketing"})
    boss_client.post(f"{MEMBERS}{own}/remove/")
    assert role_in(shop, boss) == "admin"
    page = boss_client.get(MEMBERS).content.decode()
    assert "cannot change your own" in page


def test_an_admin_cannot_touch_a_site_administrator(boss_client, django_user_model, shop):
    root = django_user_model.objects.create_superuser("root", password="pw-for-tests-1")
    response = boss_client.post(MEMBERS, {"username": "root", "role": "marketing"})
    assert response.status_code == 400
    assert role_in(shop, root) is None
    join(root, shop, "admin")
    rid = member_id(shop, root)
    boss_client.post(f"{MEMBERS}{rid}/role/", {f"m{rid}-role": "marketing"})
    boss_client.post(f"{MEMBERS}{rid}/remove/")
    assert role_in(shop, root) == "admin"


def test_another_workspaces_member_is_not_found(boss_client, make_user, other_shop):
    otto = make_user("manager", username="otto", workspace=other_shop)
    oid = member_id(other_shop, otto)
    assert boss_client.post(f"{MEMBERS}{oid}/role/", {f"m{oid}-role": "admin"}).status_code == 404
    assert boss_client.post(f"{MEMBERS}{oid}/remove/").status_code == 404
    assert role_in(other_shop, otto) == "manager"


def test_an_admin_of_one_workspace_is_not_one_in_another(boss, boss_client, other_shop):
    join(boss, other_shop, "marketing")
    assert boss_client.get("/w/other-shop/account/members/").status_code == 403
    assert boss_client.get(MEMBERS).status_code == 200
