"""The admin role manages users and their roles in Django's admin, but cannot escalate:
no superusers, no single permissions, no groups beyond the roles, no hands on a superuser,
no change to its own standing. A superuser keeps the whole admin (issue 23, item 9)."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(make_user):
    return make_user("admin", username="role-admin")


@pytest.fixture
def admin_client(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def superuser_client(django_user_model):
    boss = django_user_model.objects.create_superuser("boss", password="pw-for-tests-1")
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


def group_pk(name: str) -> str:
    return str(Group.objects.get(name=name).pk)


def test_the_admin_role_manages_another_users_roles_and_details(admin_client, make_user):
    colleague = make_user("marketing", username="colleague")
    response = admin_client.post(
        change_url(colleague),
        change_form(colleague, groups=[group_pk("manager")], email="c@example.com", is_staff="on"),
    )
    assert response.status_code == 302, response.content[:2000]
    colleague.refresh_from_db()
    assert list(colleague.groups.values_list("name", flat=True)) == ["manager"]
    assert colleague.email == "c@example.com"
    assert colleague.is_staff


def test_the_admin_role_cannot_make_another_user_a_superuser(admin_client, make_user):
    colleague = make_user("manager", username="colleague")
    response = admin_client.post(change_url(colleague), change_form(colleague, is_superuser="on"))
    assert response.status_code == 302
    colleague.refresh_from_db()
    assert not colleague.is_superuser


def test_the_admin_role_cannot_grant_another_user_a_single_permission(admin_client, make_user):
    colleague = make_user("manager", username="colleague")
    response = admin_client.post(
        change_url(colleague),
        change_form(colleague, user_permissions=[str(a_permission().pk)]),
    )
    assert response.status_code == 302
    assert not colleague.user_permissions.exists()
    assert not User.objects.get(pk=colleague.pk).has_perm("auth.change_group")


def test_the_admin_role_cannot_put_a_user_in_a_group_that_is_not_a_role(admin_client, make_user):
    powerful = Group.objects.create(name="owners")
    powerful.permissions.add(a_permission())
    colleague = make_user("manager", username="colleague")
    response = admin_client.post(
        change_url(colleague), change_form(colleague, groups=[str(powerful.pk)])
    )
    assert response.status_code == 200  # the form again, with the error
    assert "groups" in response.context["adminform"].form.errors
    assert list(colleague.groups.values_list("name", flat=True)) == ["manager"]


def test_the_admin_role_cannot_raise_itself(admin_client, admin_user):
    response = admin_client.post(
        change_url(admin_user),
        change_form(
            admin_user,
            is_superuser="on",
            user_permissions=[str(a_permission().pk)],
            groups=[group_pk("admin"), group_pk("manager")],
            first_name="Ada",
        ),
    )
    assert response.status_code == 302
    admin_user.refresh_from_db()
    assert admin_user.first_name == "Ada"  # its own details it may change
    assert not admin_user.is_superuser
    assert not admin_user.user_permissions.exists()
    assert list(admin_user.groups.values_list("name", flat=True)) == ["admin"]


def test_the_admin_role_cannot_change_its_own_role_staff_or_active_flags(admin_client, admin_user):
    response = admin_client.post(
        change_url(admin_user),
        change_form(admin_user, groups=[group_pk("marketing")], is_staff=None, is_active=None),
    )
    assert response.status_code == 302
    admin_user.refresh_from_db()
    assert admin_user.is_staff and admin_user.is_active
    assert list(admin_user.groups.values_list("name", flat=True)) == ["admin"]


def test_the_admin_role_cannot_change_a_superuser(admin_client, django_user_model):
    boss = django_user_model.objects.create_superuser("boss", password="pw-for-tests-1")
    response = admin_client.post(change_url(boss), change_form(boss, is_superuser=None))
    assert response.status_code == 403
    boss.refresh_from_db()
    assert boss.is_superuser


def test_the_admin_role_cannot_set_a_superusers_password(admin_client, django_user_model):
    boss = django_user_model.objects.create_superuser("boss", password="pw-for-tests-1")
    url = reverse("admin:auth_user_password_change", args=[boss.pk])
    response = admin_client.post(
        url,
        {"password1": "taken-over-9x!", "password2": "taken-over-9x!", "usable_password": "true"},
    )
    assert response.status_code == 403
    boss.refresh_from_db()
    assert boss.check_password("pw-for-tests-1")


def test_the_admin_role_cannot_delete_a_superuser(admin_client, django_user_model):
    boss = django_user_model.objects.create_superuser("boss", password="pw-for-tests-1")
    response = admin_client.post(reverse("admin:auth_user_delete", args=[boss.pk]), {"post": "yes"})
    assert response.status_code == 403
    response = admin_client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "delete_selected", "_selected_action": [boss.pk], "post": "yes"},
    )
    assert User.objects.filter(pk=boss.pk).exists()


def test_the_admin_role_sees_neither_superuser_nor_permission_inputs(admin_client, make_user):
    colleague = make_user("manager", username="colleague")
    form = admin_client.get(change_url(colleague)).context["adminform"].form
    assert "groups" in form.fields
    assert "is_superuser" not in form.fields
    assert "user_permissions" not in form.fields
    assert set(form.fields["groups"].queryset.values_list("name", flat=True)) == {
        "marketing",
        "manager",
        "admin",
    }


def test_a_superuser_keeps_the_whole_admin(superuser_client, make_user):
    powerful = Group.objects.create(name="owners")
    colleague = make_user("manager", username="colleague")
    response = superuser_client.post(
        change_url(colleague),
        change_form(
            colleague,
            is_superuser="on",
            user_permissions=[str(a_permission().pk)],
            groups=[str(powerful.pk)],
        ),
    )
    assert response.status_code == 302
    colleague.refresh_from_db()
    assert colleague.is_superuser
    assert list(colleague.user_permissions.all()) == [a_permission()]
    assert list(colleague.groups.values_list("name", flat=True)) == ["owners"]
