"""The audit log's page, CSV and API: the workspace's admins only, filters, newest first."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.test import Client
from django.utils import timezone

from accounts.services import api_token_create
from audit.log import record
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db

PAGE = "/w/shop/audit/"
CSV = "/w/shop/audit/export.csv"
API = "/api/v1/audit/"


def entry(workspace, action, actor=None, **kwargs):
    return record(workspace=workspace, action=action, actor=actor, **kwargs)


def older_entry(workspace, action, actor_name: str, days_ago: int):
    # Entries cannot be updated, so an older one is written with its time.
    return AuditEntry.objects.create(
        workspace=workspace,
        action=action,
        actor_name=actor_name,
        at=timezone.now() - datetime.timedelta(days=days_ago),
    )


def token_client(user, workspace) -> Client:
    _, secret = api_token_create(user=user, workspace=workspace, name="t", read_only=True)
    return Client(headers={"Authorization": f"Token {secret}"})


@pytest.fixture
def admin(make_user):
    return make_user("admin", username="ada")


@pytest.fixture
def admin_client(admin):
    client = Client()
    client.force_login(admin)
    return client


@pytest.mark.parametrize(("role", "status"), [("marketing", 403), ("manager", 403), ("admin", 200)])
def test_only_admins_read_the_page_csv_and_api(make_user, shop, role, status):
    user = make_user(role, username=f"u-{role}")
    client = Client()
    client.force_login(user)
    assert client.get(PAGE).status_code == status
    assert client.get(CSV).status_code == status
    assert token_client(user, shop).get(API).status_code == status
    nav = client.get("/w/shop/").content.decode()
    assert (">Audit log<" in nav) is (role == "admin")


def test_signed_out_visitors_and_tokenless_calls_are_refused():
    assert Client().get(PAGE).status_code == 302
    assert Client().get(API).status_code == 401


def test_the_page_lists_newest_first_and_filters(admin_client, admin, shop, make_user):
    mia = make_user("manager", username="mia")
    older_entry(shop, "run_started", "mia-earlier", days_ago=10)
    entry(shop, "run_started", mia)
    entry(shop, "token_created", admin)
    page = admin_client.get(PAGE)
    assert page.status_code == 200
    ats = [e.at for e in page.context["page"]]
    assert ats == sorted(ats, reverse=True)

    by_action = admin_client.get(PAGE, {"action": "run_started"}).context["page"]
    assert {e.action for e in by_action} == {"run_started"}
    by_actor = admin_client.get(PAGE, {"actor": "MIA"}).context["page"]
    assert [e.actor_name for e in by_actor] == ["mia"]
    today = timezone.localdate().isoformat()
    recent = admin_client.get(PAGE, {"date_from": today, "date_to": today}).context["page"]
    assert "mia-earlier" not in {e.actor_name for e in recent}
    assert {"mia", "ada"} <= {e.actor_name for e in recent}


def test_bad_filters_are_named(admin_client):
    response = admin_client.get(PAGE, {"date_from": "2026-05-02", "date_to": "2026-05-01"})
    assert response.status_code == 400
    assert "The end date is before the start date." in response.content.decode()
    response = admin_client.get(PAGE, {"action": "token_stolen"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert admin_client.get(CSV, {"action": "token_stolen"}).status_code == 400


def test_the_page_is_paginated(admin_client, admin, shop):
    for _ in range(55):
        entry(shop, "token_created", admin)
    first = admin_client.get(PAGE, {"actor": "ada"})
    assert len(first.context["page"]) == 50
    assert 'rel="next"' in first.content.decode()
    second = admin_client.get(PAGE, {"actor": "ada", "page": 2})
    assert len(second.context["page"]) == 5


def test_the_csv_has_the_filtered_entries_with_formulas_neutralised(admin_client, admin, shop):
    entry(shop, "members_exported", admin, details={"what": "=HYPERLINK(1)"})
    entry(shop, "token_created", admin)
    response = admin_client.get(CSV, {"action": "members_exported", "actor": "ada"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["actor"], r["action"]) for r in rows] == [("ada", "members_exported")]
    assert rows[0]["details"] == '{"what": "=HYPERLINK(1)"}'

    entry(shop, "token_created", admin, target=None, details={})
    AuditEntry.objects.create(
        workspace=shop, action="token_created", actor_name="=cmd|' /C calc'!A0"
    )
    text = b"".join(admin_client.get(CSV).streaming_content).decode("utf-8-sig")
    assert "'=cmd|' /C calc'!A0" in text


def test_the_api_lists_filters_and_describes_entries(admin, shop, make_user):
    mia = make_user("manager", username="mia")
    made = entry(shop, "run_started", mia, details={"by": "manager"})
    entry(shop, "token_created", admin)
    api = token_client(admin, shop)
    body = api.get(API, {"action": "run_started", "actor": "mia"}).json()
    assert body["results"] == [
        {
            "id": made.pk,
            "at": body["results"][0]["at"],
            "actor": "mia",
            "action": "run_started",
            "target": {"type": "", "id": "", "name": ""},
            "address": None,
            "details": {"by": "manager"},
        }
    ]
    bad = api.get(API, {"date_from": "not a date"})
    assert bad.status_code == 400
    assert "date_from" in bad.json()["detail"]


def test_no_url_changes_or_deletes_entries(admin, admin_client, shop):
    made = entry(shop, "token_created", admin)
    api = token_client(admin, shop)
    for method in ("post", "put", "patch", "delete"):
        assert getattr(api, method)(API).status_code in (403, 405)
        assert getattr(api, method)(f"{API}{made.pk}/").status_code in (403, 404, 405)
        assert getattr(admin_client, method)(PAGE).status_code == 405
        assert getattr(admin_client, method)(CSV).status_code == 405
    assert AuditEntry.objects.in_workspace(shop).filter(pk=made.pk).exists()


def test_the_admin_site_shows_entries_read_only_even_to_superusers(django_user_model, shop):
    root = django_user_model.objects.create_superuser("root", password="pw-root-1")
    made = record(workspace=shop, action="token_created", actor=root)
    client = Client()
    client.force_login(root)
    assert client.get("/admin/audit/auditentry/").status_code == 200
    change = client.get(f"/admin/audit/auditentry/{made.pk}/change/")
    assert change.status_code == 200
    assert b'name="_save"' not in change.content
    assert client.post(f"/admin/audit/auditentry/{made.pk}/change/", {}).status_code == 403
    assert (
        client.post(f"/admin/audit/auditentry/{made.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert client.get("/admin/audit/auditentry/add/").status_code == 403
    assert AuditEntry.unscoped.filter(pk=made.pk).exists()
