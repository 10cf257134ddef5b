"""The shop's settings over the API: every member reads them, the shop's admins change them
with the page's rules (the currency fixed once lines are stored, each change audited), and a
refused or bad change saves nothing."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from customers.models import ImportRecord
from workspaces.models import Workspace

from .conftest import CDNOW_SLICE, import_path

pytestmark = pytest.mark.django_db

URL = "/api/v1/settings/"


def patch(client, body):
    return client.patch(URL, body, content_type="application/json")


def stored(workspace: Workspace) -> Workspace:
    return Workspace.objects.get(pk=workspace.pk)


@pytest.mark.parametrize("role", ["marketing", "manager", "admin"])
def test_every_member_reads_the_settings(token_client, shop, role):
    response = token_client(role).get(URL)
    assert response.status_code == 200
    assert response.json() == {
        "slug": shop.slug,
        "name": shop.name,
        "currency": shop.currency,
        "time_zone": shop.time_zone,
        "date_order": shop.date_order,
        "code_page": shop.code_page,
        "customer_ids_kept": "",
        "currency_fixed_because": None,
    }


def test_an_admin_changes_some_settings_and_each_change_is_audited(token_client, shop):
    response = patch(
        token_client("admin"), {"time_zone": "Europe/Berlin", "date_order": "dayfirst"}
    )
    assert response.status_code == 200
    assert response.json()["time_zone"] == "Europe/Berlin"
    now = stored(shop)
    assert (now.time_zone, now.date_order, now.name) == ("Europe/Berlin", "dayfirst", shop.name)
    entry = AuditEntry.objects.in_workspace(shop).get(
        action=AuditEntry.Action.SHOP_SETTINGS_CHANGED
    )
    assert entry.actor_name == "api-admin-1"
    assert entry.details == {
        "time_zone": {"from": shop.time_zone, "to": "Europe/Berlin"},
        "date_order": {"from": "", "to": "dayfirst"},
    }


def test_the_currency_changes_until_lines_are_stored_then_is_a_409(token_client, shop):
    admin = token_client("admin")
    assert patch(admin, {"currency": "EUR"}).json()["currency"] == "EUR"
    assert import_path(CDNOW_SLICE).status == ImportRecord.Status.SUCCEEDED
    assert "lines are stored in EUR" in admin.get(URL).json()["currency_fixed_because"]
    response = patch(admin, {"currency": "USD", "name": "Renamed"})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "currency_fixed"
    assert "relabel their amounts" in body["fields"]["currency"][0]
    # nothing sent is saved, the name neither
    assert (stored(shop).currency, stored(shop).name) == ("EUR", shop.name)
    # the same currency again is no change, and the rest is saved
    response = patch(admin, {"currency": "EUR", "name": "Renamed"})
    assert response.status_code == 200 and stored(shop).name == "Renamed"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone", "not a time zone name"),
        ({"name": "Other shop"}, "name", "already exists"),
        ({"code_page": "ebcdic"}, "code_page", "not a valid choice"),
        ({"name": 5}, "name", "a JSON string"),
        ({"name": ""}, "name", "may not be blank"),
    ],
)
def test_a_bad_value_is_a_400_naming_the_field_and_nothing_is_saved(
    token_client, shop, other_shop, body, field, words
):
    response = patch(token_client("admin"), {"currency": "EUR", **body})
    assert response.status_code == 400
    assert words in " ".join(response.json()["fields"][field])
    assert (stored(shop).currency, stored(shop).name) == (shop.currency, shop.name)
    assert (
        not AuditEntry.objects.in_workspace(shop)
        .filter(action=AuditEntry.Action.SHOP_SETTINGS_CHANGED)
        .exists()
    )


@pytest.mark.parametrize(("role", "read_only"), [("marketing", False), ("manager", False),
                                                 ("admin", True)])  # fmt: skip
def test_only_an_admins_writing_token_changes_them(token_client, shop, role, read_only):
    response = patch(token_client(role, read_only=read_only), {"time_zone": "Asia/Tokyo"})
    assert response.status_code == 403
    assert stored(shop).time_zone == shop.time_zone


def test_the_token_decides_the_shop_and_other_shops_are_untouched(token_client, shop, other_shop):
    before = stored(other_shop)
    assert patch(token_client("admin"), {"time_zone": "Asia/Tokyo"}).status_code == 200
    after = stored(other_shop)
    assert (after.time_zone, after.currency, after.name) == (
        before.time_zone,
        before.currency,
        before.name,
    )


def test_the_schema_documents_both_operations(token_client):
    schema = token_client("admin").get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    operations = schema["paths"]["/api/v1/settings/"]
    assert set(operations) >= {"get", "patch"}
    assert {"400", "403", "409"} <= set(operations["patch"]["responses"])
    settings = schema["components"]["schemas"]["ShopSettings"]["properties"]
    assert settings["currency_fixed_because"]["nullable"] is True
    assert settings["slug"]["readOnly"] is True
