"""Django's admin is the site administrators' (superusers'): they create workspaces and give
memberships there. The workspace admin role gets no admin access (it manages its members on
the workspace's members page). A staff user a superuser gave user permissions edits users'
details but cannot escalate: no superusers, staff flags, groups or single permissions, no
hands on a superuser, no change to its own standing (issue 23, item 9; issue 18)."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken, Membership
from accounts.services import api_token_create
from audit.models import AuditEntry
from tests.admin_forms import inline, workspace_add_form
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_user(django_user_model):
    """Staff with user permissions given one by one, and no superuser flag."""
    user = django_user_model.objects.create_user("staff", password="pw-for-tests-1", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="auth", codename__in=["view_user", "change_user", "delete_user"]
        )
    )
    return user


@pytest.fixture
def staff_client(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture
def boss(django_user_model):
    return django_user_model.objects.create_superuser("boss", password="pw-for-tests-1")


@pytest.fixture
def superuser_client(boss):
    client = Client()
    client.force_login(boss)
    return client


def change_url(user: User) -> str:
    return reverse("admin:auth_user_change", args=[user.pk])


def change_form(user: User, **changes) -> dict:
    """The user change form as the browser posts it, with `changes` on top."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "groups": [str(pk) for pk in user.groups.values_list("pk", flat=True)],
    }
    for flag in ("is_active", "is_staff", "is_superuser"):
        if getattr(user, flag):
            data[flag] = "on"
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def a_permission() -> Permission:
    return Permission.objects.get(content_type__app_label="auth", codename="change_group")


# ------------------------------------------------------------------ the workspace admin role
@pytest.mark.parametrize("path", ["/admin/", "/admin/auth/user/"])
def test_the_workspace_admin_role_gets_no_django_admin(client_for, path):
    response = client_for("admin").get(path)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_the_admin_site_is_not_served_inside_a_workspace(client_for):
    assert client_for("admin").get("/w/shop/admin/").status_code == 404


# ------------------------------------------------------------------ bounded staff
def test_staff_with_user_permissions_changes_another_users_details(staff_client, make_user):
    colleague = make_user("marketing", username="colleague")
    response = staff_client.post(change_url(colleague), change_form(colleague, email="c@x.org"))
    assert response.status_code == 302, response.content[:2000]
    colleague.refresh_from_db()
    assert colleague.email == "c@x.org"


@pytest.mark.parametrize(
    "escalation",
    [
        {"is_superuser": "on"},
        {"is_staff": "on"},
        {"user_permissions": ["PERMISSION"]},
        {"groups": ["GROUP"]},
    ],
    ids=["superuser", "staff", "permission", "group"],
)
def test_staff_cannot_escalate_another_user(staff_client, make_user, escalation):
    powerful = Group.objects.create(name="owners")
    powerful.permissions.add(a_permission())
    colleague = make_user("manager", username="colleague")
    values = {
        name: [str(a_permission().pk) if v == "PERMISSION" else str(powerful.pk) for v in value]
        if isinstance(value, list)
        else value
        for name, value in escalation.items()
    }
    response = staff_client.post(change_url(colleague), change_form(colleague, **values))
    assert response.status_code == 302
    colleague = User.objects.get(pk=colleague.pk)
    assert not colleague.is_superuser and not colleague.is_staff
    assert not colleague.user_permissions.exists() and not colleague.groups.exists()
    assert not colleague.has_perm("auth.change_group")


def test_staff_cannot_raise_itself(staff_client, staff_user):
    response = staff_client.post(
        change_url(staff_user),
        change_form(
            staff_user,
            is_superuser="on",
            user_permissions=[str(a_permission().pk)],
            is_active=None,
            is_staff=None,
            first_name="Ada",
        ),
    )
    assert response.status_code == 302
    staff_user.refresh_from_db()
    assert staff_user.first_name == "Ada"  # its own details it may change
    assert staff_user.is_staff and staff_user.is_active and not staff_user.is_superuser
    assert not staff_user.user_permissions.filter(codename="change_group").exists()


def test_staff_cannot_change_a_superuser(staff_client, boss):
    response = staff_client.post(change_url(boss), change_form(boss, is_superuser=None))
    assert response.status_code == 403
    boss.refresh_from_db()
    assert boss.is_superuser


def test_staff_cannot_set_a_superusers_password(staff_client, boss):
    url = reverse("admin:auth_user_password_change", args=[boss.pk])
    response = staff_client.post(
        url,
        {"password1": "taken-over-9x!", "password2": "taken-over-9x!", "usable_password": "true"},
    )
    assert response.status_code == 403
    boss.refresh_from_db()
    assert boss.check_password("pw-for-tests-1")


def test_staff_cannot_delete_a_superuser(staff_client, boss):
    response = staff_client.post(reverse("admin:auth_user_delete", args=[boss.pk]), {"post": "yes"})
    assert response.status_code == 403
    staff_client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "delete_selected", "_selected_action": [boss.pk], "post": "yes"},
    )
    assert User.objects.filter(pk=boss.pk).exists()


def test_staff_sees_no_standing_inputs_nor_memberships(staff_client, make_user):
    colleague = make_user("manager", username="colleague")
    response = staff_client.get(change_url(colleague))
    form = response.context["adminform"].form
    assert {"is_superuser", "is_staff", "groups", "user_permissions"}.isdisjoint(form.fields)
    assert response.context["inline_admin_formsets"] == []


# ------------------------------------------------------------------ site administrators
def test_a_superuser_keeps_the_whole_user_admin(superuser_client, make_user):
    powerful = Group.objects.create(name="owners")
    colleague = make_user(None, username="colleague")
    response = superuser_client.post(
        change_url(colleague),
        {
            **change_form(
                colleague,
                is_superuser="on",
                user_permissions=[str(a_permission().pk)],
                groups=[str(powerful.pk)],
            ),
            **inline("memberships", []),
        },
    )
    assert response.status_code == 302, response.content[:3000]
    colleague.refresh_from_db()
    assert colleague.is_superuser
    assert list(colleague.user_permissions.all()) == [a_permission()]
    assert list(colleague.groups.values_list("name", flat=True)) == ["owners"]


def test_a_superuser_creates_a_workspace_with_its_members(superuser_client, make_user):
    ann = make_user(None, username="ann")
    bob = make_user(None, username="bob")
    response = superuser_client.post(
        reverse("admin:workspaces_workspace_add"),
        workspace_add_form(
            code_page="cp1250",
            memberships=[
                {"user": str(ann.pk), "role": "admin"},
                {"user": str(bob.pk), "role": "marketing"},
            ],
        ),
    )
    assert response.status_code == 302, response.content[:3000]
    garden = Workspace.objects.get(slug="garden")
    assert (garden.currency, garden.time_zone, garden.date_order, garden.code_page) == (
        "EUR",
        "Europe/Dublin",
        "dayfirst",
        "cp1250",
    )
    assert dict(Membership.objects.in_workspace(garden).values_list("user__username", "role")) == {
        "ann": "admin",
        "bob": "marketing",
    }
    # The new workspace is theirs to enter, with those roles.
    client = Client()
    client.force_login(ann)
    assert client.get("/w/garden/account/members/").status_code == 200
    # its log starts with who created it, and with which settings
    created = AuditEntry.unscoped.get(workspace=garden, action=AuditEntry.Action.SHOP_CREATED)
    assert created.actor_name == "boss"
    assert created.details == {
        "slug": "garden",
        "name": "Garden centre",
        "currency": "EUR",
        "time_zone": "Europe/Dublin",
        "date_order": "dayfirst",
        "code_page": "cp1250",
        "customer_ids_kept": "",
    }
    log = client.get("/w/garden/audit/").content.decode()
    assert "Shop created" in log and "currency: EUR" in log


def test_a_superuser_changes_a_role_in_a_workspace_and_sees_every_workspaces_members(
    superuser_client, make_user, shop, other_shop
):
    ann = make_user("marketing", username="ann")
    make_user("manager", username="otto", workspace=other_shop)
    membership = Membership.objects.in_workspace(shop).get(user=ann)
    page = superuser_client.get(reverse("admin:workspaces_workspace_change", args=[shop.pk]))
    assert page.status_code == 200
    response = superuser_client.post(
        reverse("admin:workspaces_workspace_change", args=[shop.pk]),
        {
            "name": shop.name,
            "slug": shop.slug,
            "currency": shop.currency,
            "time_zone": shop.time_zone,
            "date_order": shop.date_order,
            "code_page": shop.code_page,
            **inline(
                "memberships",
                [{"id": str(membership.pk), "user": str(ann.pk), "role": "manager"}],
                initial=1,
            ),
        },
    )
    assert response.status_code == 302, response.content[:3000]
    assert Membership.objects.in_workspace(shop).get(user=ann).role == "manager"
    other = superuser_client.get(reverse("admin:workspaces_workspace_change", args=[other_shop.pk]))
    assert b"otto" in other.content


def test_a_superuser_gives_a_user_a_second_workspace_but_not_the_same_one_twice(
    superuser_client, make_user, shop, other_shop
):
    ann = make_user("marketing", username="ann")
    existing = Membership.objects.in_workspace(shop).get(user=ann)
    existing_row = {"id": str(existing.pk), "workspace": str(shop.pk), "role": "marketing"}

    def post(new_workspace):
        return superuser_client.post(
            change_url(ann),
            {
                **change_form(ann),
                **inline(
                    "memberships",
                    [existing_row, {"workspace": str(new_workspace.pk), "role": "admin"}],
                    initial=1,
                ),
            },
        )

    assert post(shop).status_code == 200  # the form again: already a member there
    assert post(other_shop).status_code == 302
    assert Membership.objects.in_workspace(other_shop).get(user=ann).role == "admin"
    assert Membership.objects.in_workspace(shop).get(user=ann).role == "marketing"


def test_the_token_admin_shows_each_tokens_workspace(superuser_client, make_user, shop, other_shop):
    ann = make_user("marketing", username="ann")
    api_token_create(user=ann, workspace=shop, name="shop sync", read_only=True)
    token, _ = api_token_create(
        user=boss_of(other_shop), workspace=other_shop, name="o", read_only=False
    )
    page = superuser_client.get(reverse("admin:accounts_apitoken_changelist")).content.decode()
    assert "shop sync" in page and "Test shop" in page and "Other shop" in page
    detail = superuser_client.get(reverse("admin:accounts_apitoken_change", args=[token.pk]))
    assert detail.status_code == 200
    assert ApiToken.unscoped.count() == 2


def boss_of(workspace):
    from tests.shops import join

    user = User.objects.create_user(f"boss-of-{workspace.slug}", password="pw-for-tests-1")
    return join(user, workspace, "admin")
