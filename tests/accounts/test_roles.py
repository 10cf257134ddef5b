import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from accounts.roles import ROLE_PERMISSIONS

pytestmark = pytest.mark.django_db


def perms_of(group: Group) -> set[str]:
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
    }


def test_the_data_migration_creates_each_role_with_exactly_its_permissions():
    assert set(Group.objects.values_list("name", flat=True)) >= {"marketing", "manager", "admin"}
    for role, wanted in ROLE_PERMISSIONS.items():
        assert perms_of(Group.objects.get(name=role)) == set(wanted)


def test_each_role_includes_everything_the_role_below_may_do():
    marketing = perms_of(Group.objects.get(name="marketing"))
    manager = perms_of(Group.objects.get(name="manager"))
    admin = perms_of(Group.objects.get(name="admin"))
    assert marketing < manager < admin
    assert "accounts.publish_runs" in manager - marketing
    assert "auth.change_user" in admin - manager


def test_demo_users_get_one_role_each_and_can_sign_in(client, capsys):
    call_command("create_demo_users")
    out = capsys.readouterr().out
    for username, password in [
        ("marketing", "marketing-demo-pass"),
        ("manager", "manager-demo-pass"),
        ("admin", "admin-demo-pass"),
    ]:
        assert f"{username} / {password}" in out
        response = client.post("/account/login/", {"username": username, "password": password})
        assert response.status_code == 302, username
        client.logout()
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.get(username="admin")
    assert admin.is_staff and not admin.is_superuser
    assert list(admin.groups.values_list("name", flat=True)) == ["admin"]


def test_creating_demo_users_twice_resets_them_without_duplicates():
    call_command("create_demo_users")
    call_command("create_demo_users")
    from django.contrib.auth import get_user_model

    assert (
        get_user_model().objects.filter(username__in=["marketing", "manager", "admin"]).count() == 3
    )
