"""The shop's settings page: a workspace admin changes its name, time zone, date order, code
page and, until lines are stored, its currency; each change is audited, the schedule follows a
new time zone, and other roles and other workspaces are untouched."""

from __future__ import annotations

import pytest
from django_celery_beat.models import PeriodicTask

from audit.models import AuditEntry
from customers.models import ImportRecord
from customers.shop_settings import ShopSettingsRefused, shop_settings_change
from schedules.services import TASK_NAME, schedule_save
from tests.schedules.test_pages_and_api import WEEKLY
from workspaces.models import Workspace

from .conftest import CDNOW_SLICE, import_path, in_shop

pytestmark = pytest.mark.django_db

SETTINGS = "/w/shop/settings/"  # the test shop's (tests/shops.py)


def values(workspace: Workspace, **changes) -> dict[str, str]:
    """The form as the page posts it: the shop's settings, some changed."""
    posted = {
        name: getattr(workspace, name)
        for name in ("name", "currency", "time_zone", "date_order", "code_page")
    }
    return {**posted, **changes}


def stored(workspace: Workspace) -> Workspace:
    return Workspace.objects.get(pk=workspace.pk)


def test_an_admin_changes_the_settings_and_each_change_is_audited(client_for, shop):
    admin = client_for("admin")
    page = admin.get(SETTINGS)
    assert page.status_code == 200
    assert 'name="currency"' in page.content.decode()
    response = admin.post(
        SETTINGS,
        values(
            shop,
            name="Corner Shop",
            time_zone="Europe/Berlin",
            date_order="dayfirst",
            code_page="cp1250",
        ),
        follow=True,
    )
    assert response.redirect_chain[-1][0] == SETTINGS
    assert "Saved: name, time zone, date order, code page." in response.content.decode()
    now = stored(shop)
    assert (now.name, now.time_zone, now.date_order, now.code_page) == (
        "Corner Shop",
        "Europe/Berlin",
        "dayfirst",
        "cp1250",
    )
    entry = AuditEntry.objects.in_workspace(shop).get(
        action=AuditEntry.Action.SHOP_SETTINGS_CHANGED
    )
    assert entry.actor_name == "admin-user"
    assert entry.details == {
        "name": {"from": shop.name, "to": "Corner Shop"},
        "time_zone": {"from": shop.time_zone, "to": "Europe/Berlin"},
        "date_order": {"from": shop.date_order, "to": "dayfirst"},
        "code_page": {"from": shop.code_page, "to": "cp1250"},
    }
    # the audit log reads each change as old and new value
    log = admin.get(in_shop("/audit/")).content.decode()
    assert f"time_zone: {shop.time_zone} → Europe/Berlin" in log
    assert "date_order: (none) → dayfirst" in log


def test_saving_unchanged_settings_records_nothing(client_for, shop):
    response = client_for("admin").post(SETTINGS, values(shop), follow=True)
    assert "Nothing changed." in response.content.decode()
    assert (
        not AuditEntry.objects.in_workspace(shop)
        .filter(action=AuditEntry.Action.SHOP_SETTINGS_CHANGED)
        .exists()
    )


@pytest.mark.parametrize("role", ["marketing", "manager"])
def test_only_the_admin_role_may_use_it(client_for, shop, role):
    client = client_for(role)
    assert client.get(SETTINGS).status_code == 403
    assert client.post(SETTINGS, values(shop, currency="EUR")).status_code == 403
    assert b"Shop settings" not in client.get(in_shop("/")).content
    assert stored(shop).currency == shop.currency


def test_the_admin_finds_it_in_the_navigation(client_for):
    assert f'href="{SETTINGS}"' in client_for("admin").get(in_shop("/")).content.decode()


def test_the_currency_changes_while_the_shop_holds_no_lines(client_for, shop):
    assert client_for("admin").post(SETTINGS, values(shop, currency="EUR")).status_code == 302
    assert stored(shop).currency == "EUR"


def test_the_currency_is_fixed_once_lines_are_stored(client_for, shop):
    assert import_path(CDNOW_SLICE).status == ImportRecord.Status.SUCCEEDED
    admin = client_for("admin")
    page = admin.get(SETTINGS).content.decode()
    assert "lines are stored in GBP" in page
    select = page.split('name="currency"')[1].split(">")[0]
    assert "disabled" in select
    # A posted currency is ignored (the field is shown, not offered); the rest is saved.
    response = admin.post(SETTINGS, values(shop, currency="EUR", time_zone="Europe/Paris"))
    assert response.status_code == 302
    assert (stored(shop).currency, stored(shop).time_zone) == ("GBP", "Europe/Paris")


def test_the_service_refuses_a_currency_an_import_under_way_would_contradict(shop, make_user):
    # The page's check can be outrun by an upload in another tab: the service checks again.
    ImportRecord.objects.create(
        workspace=shop, file_name="day.csv", status=ImportRecord.Status.QUEUED
    )
    with pytest.raises(ShopSettingsRefused, match="An import is under way") as refused:
        shop_settings_change(
            workspace=shop, by=make_user("admin"), changes={"currency": "EUR", "name": "New"}
        )
    assert refused.value.field == "currency"
    assert (stored(shop).currency, stored(shop).name) == ("GBP", shop.name)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone", "Select a valid choice"),
        ({"name": "Other shop"}, "name", "already exists"),
        ({"code_page": "ebcdic"}, "code_page", "Select a valid choice"),
    ],
)
def test_a_bad_value_is_refused_and_nothing_is_saved(
    client_for, shop, other_shop, changes, field, message
):
    response = client_for("admin").post(SETTINGS, values(shop, currency="EUR", **changes))
    assert response.status_code == 400
    assert message in str(response.context["form"].errors[field])
    assert stored(shop).currency == shop.currency and stored(shop).name == shop.name


def test_a_new_time_zone_moves_the_schedule_and_leaves_other_shops_alone(
    client_for, shop, other_shop, make_user
):
    schedule_save(workspace=shop, user=make_user("manager", username="m"), values=WEEKLY)
    before = stored(other_shop)
    client_for("admin").post(SETTINGS, values(shop, time_zone="Asia/Tokyo"))
    task = PeriodicTask.objects.get(task=TASK_NAME)
    assert str(task.crontab.timezone) == "Asia/Tokyo"
    assert (task.crontab.hour, task.crontab.minute) == ("7", "15")
    after = stored(other_shop)
    assert (after.name, after.time_zone, after.currency) == (
        before.name,
        before.time_zone,
        before.currency,
    )


def test_the_upload_page_says_how_amounts_and_times_are_read_and_where_to_change_them(
    client_for, shop
):
    upload_page = in_shop("/customers/imports/new/")
    admin = client_for("admin")
    admin_page = admin.get(upload_page).content.decode()
    assert f"amounts are read as {shop.currency} (£)" in admin_page
    assert f"read as {shop.time_zone}" in admin_page
    assert f'href="{SETTINGS}"' in admin_page and "before the first import" in admin_page
    # once lines are stored, the currency is no longer a thing to change first
    assert import_path(CDNOW_SLICE).status == ImportRecord.Status.SUCCEEDED
    assert "before the first import" not in admin.get(upload_page).content.decode()


def test_a_manager_reads_the_settings_but_is_sent_to_the_admins(client_for, shop):
    page = client_for("manager").get(in_shop("/customers/imports/new/")).content.decode()
    assert f"amounts are read as {shop.currency}" in page
    assert f'href="{SETTINGS}"' not in page and "The shop's admins change them." in page


def test_django_admin_shows_a_fixed_currency_read_only(shop, django_user_model):
    from django.test import Client
    from django.urls import reverse

    root = django_user_model.objects.create_superuser("root", password="pw-for-tests-1")
    client = Client()
    client.force_login(root)
    url = reverse("admin:workspaces_workspace_change", args=[shop.pk])
    assert "currency" in client.get(url).context["adminform"].form.fields
    assert import_path(CDNOW_SLICE).status == ImportRecord.Status.SUCCEEDED
    form = client.get(url).context["adminform"].form
    assert "currency" not in form.fields and "time_zone" in form.fields


def test_a_new_shops_dashboard_asks_its_admin_to_check_the_settings_first(client_for, shop):
    admin = client_for("admin")
    page = admin.get(in_shop("/")).content.decode()
    assert 'data-role="check-settings"' in page and f"read as {shop.currency}" in page
    assert import_path(CDNOW_SLICE).status == ImportRecord.Status.SUCCEEDED
    assert 'data-role="check-settings"' not in admin.get(in_shop("/")).content.decode()


def test_a_site_administrators_change_in_django_admin_is_in_the_shops_audit_log(
    shop, django_user_model
):
    from django.test import Client
    from django.urls import reverse

    root = django_user_model.objects.create_superuser("root", password="pw-for-tests-1")
    client = Client()
    client.force_login(root)
    url = reverse("admin:workspaces_workspace_change", args=[shop.pk])
    page = client.get(url)
    form = page.context["adminform"].form
    posted = {name: form.initial.get(name) or "" for name in form.fields}
    for inline in page.context["inline_admin_formsets"]:
        prefix = inline.formset.prefix  # no inline rows sent: the members stay as they are
        posted.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})

    def entries():
        return AuditEntry.objects.in_workspace(shop).filter(
            action=AuditEntry.Action.SHOP_SETTINGS_CHANGED
        )

    assert client.post(url, posted).status_code == 302
    assert not entries().exists()  # saved unchanged: nothing to record
    changed = {**posted, "slug": "corner", "time_zone": "Asia/Tokyo"}
    assert client.post(url, changed).status_code == 302
    entry = entries().get()
    assert entry.actor_name == "root"
    assert entry.details == {
        "time_zone": {"from": shop.time_zone, "to": "Asia/Tokyo"},
        "slug": {"from": "shop", "to": "corner"},
    }
