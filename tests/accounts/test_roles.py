import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client

from accounts.models import Capability, Membership
from accounts.roles import (
    ADMIN,
    MANAGER,
    MARKETING,
    MEMBERS_PERMISSION,
    PERSONAL_DATA_PERMISSION,
    ROLE_PERMISSIONS,
    SHOP_SETTINGS_PERMISSION,
)
from audit.permissions import AUDIT_PERMISSION
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db


def test_each_role_includes_everything_the_role_below_may_do():
    marketing = set(ROLE_PERMISSIONS[MARKETING])
    manager = set(ROLE_PERMISSIONS[MANAGER])
    admin = set(ROLE_PERMISSIONS[ADMIN])
    assert marketing < manager < admin
    assert "accounts.publish_runs" in manager - marketing
    assert admin - manager == {MEMBERS_PERMISSION, AUDIT_PERMISSION, SHOP_SETTINGS_PERMISSION}


def test_personal_data_is_for_managers_and_admins_not_marketing():
    """Customers' e-mails and names (pages and exports: tests/clustering/
    test_member_fit_and_export.py); a capability of its own, migrated (accounts 0005)."""
    codename = PERSONAL_DATA_PERMISSION.split(".")[1]
    assert codename in dict(Capability._meta.permissions)
    assert PERSONAL_DATA_PERMISSION not in ROLE_PERMISSIONS[MARKETING]
    assert PERSONAL_DATA_PERMISSION in set(ROLE_PERMISSIONS[MANAGER]) & set(ROLE_PERMISSIONS[ADMIN])


def test_roles_are_memberships_not_groups(make_user, shop):
    user = make_user(MANAGER)
    assert not Group.objects.filter(name__in=ROLE_PERMISSIONS).exists()
    assert not user.groups.exists()
    assert Membership.objects.in_workspace(shop).get(user=user).role == MANAGER


def test_demo_users_get_their_roles_in_both_demo_workspaces_and_can_sign_in(capsys):
    call_command("create_demo_users")
    out = capsys.readouterr().out
    logins = [
        ("marketing", "marketing-demo-pass"),
        ("manager", "manager-demo-pass"),
        ("admin", "admin-demo-pass"),
        ("analyst", "analyst-demo-pass"),
    ]
    for username, password in logins:
        assert f"{username} / {password}" in out
        client = Client()
        response = client.post("/account/login/", {"username": username, "password": password})
        assert response.status_code == 302, username
    assert "analyst / analyst-demo-pass: manager in Online Retail, marketing in CDNOW" in out

    retail = Workspace.objects.get(slug="online-retail")
    cdnow = Workspace.objects.get(slug="cdnow")
    assert (retail.currency, retail.time_zone, retail.date_order) == ("GBP", "Europe/London", "iso")
    assert (cdnow.currency, cdnow.date_order) == ("USD", "iso")

    def roles(workspace):
        return dict(
            Membership.objects.in_workspace(workspace).values_list("user__username", "role")
        )

    assert roles(retail) == {
        "marketing": MARKETING,
        "manager": MANAGER,
        "admin": ADMIN,
        "analyst": MANAGER,
    }
    assert roles(cdnow) == {
        "marketing": MARKETING,
        "manager": MANAGER,
        "admin": ADMIN,
        "analyst": MARKETING,
    }
    admin = get_user_model().objects.get(username="admin")
    assert not admin.is_staff and not admin.is_superuser  # Django's admin is not the role's


def test_creating_demo_users_twice_resets_them_without_duplicates():
    call_command("create_demo_users")
    call_command("create_demo_users")
    names = ["marketing", "manager", "admin", "analyst"]
    assert get_user_model().objects.filter(username__in=names).count() == 4
    demo = Workspace.objects.filter(slug__in=["online-retail", "cdnow"])
    assert demo.count() == 2
    for workspace in demo:  # other tests' module-wide shops may exist beside them
        assert Membership.objects.in_workspace(workspace).count() == 4
