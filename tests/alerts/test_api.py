"""The alerts API: every member reads rules and alerts and acknowledges alerts; managers
add, change and delete rules; wrong settings answer 400 naming the field."""

from __future__ import annotations

import pytest
from django.test import Client

from alerts.models import Alert, AlertRule
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def _token_client(user, workspace, *, read_only: bool = False) -> Client:
    from accounts.services import api_token_create

    _, secret = api_token_create(user=user, workspace=workspace, name="t", read_only=read_only)
    return Client(headers={"Authorization": f"Token {secret}"})


@pytest.fixture
def manager(make_user, shop):
    return make_user("manager", username="manny")


def test_a_manager_adds_changes_and_deletes_a_rule(shop, manager):
    api = _token_client(manager, shop)
    response = api.post(
        "/api/v1/alert-rules/",
        {"kind": "valuable_to_lapsed", "min_customers": 100, "recipients": "crm@shop.example"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    rule_id = body["id"]
    assert {k: body[k] for k in ("kind", "threshold", "min_customers", "enabled", "recipients",
                                  "description", "created_by")} == {
        "kind": "valuable_to_lapsed",
        "threshold": None,
        "min_customers": 100,
        "enabled": True,
        "recipients": "crm@shop.example",
        "description": "More than 100 customers move from a valuable segment to a lapsed one",
        "created_by": "manny",
    }  # fmt: skip

    response = api.patch(
        f"/api/v1/alert-rules/{rule_id}/", {"enabled": False}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["enabled"] is False
    assert api.get("/api/v1/alert-rules/").json()["results"][0]["id"] == rule_id

    assert api.delete(f"/api/v1/alert-rules/{rule_id}/").status_code == 204
    assert not AlertRule.objects.in_workspace(shop).exists()
    changes = list(
        AuditEntry.objects.in_workspace(shop)
        .filter(action="alert_rule_changed")
        .order_by("pk")
        .values_list("details__change", flat=True)
    )
    assert changes == ["created", "disabled", "deleted"]


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"kind": "segment_size_change"}, {"threshold": ["Say by how many percent a segment "
                                                          "must change."]}),
        ({"kind": "segment_size_change", "threshold": -1}, {"threshold": [
            "The threshold is a percentage above 0 and at most 1000."]}),
        ({"kind": "valuable_to_lapsed"}, {"min_customers": [
            "Say how many customers must move before an alert."]}),
        ({"kind": "expected_value_drop"}, {"threshold": [
            "Say by how many percent the expected value must fall."]}),
        ({"kind": "expected_value_drop", "threshold": 150}, {"threshold": [
            "A fall is a percentage above 0 and at most 100."]}),
        ({"kind": "scheduled_run_failed", "recipients": "ops"}, {"recipients": [
            "'ops' is not an e-mail address; separate addresses with commas."]}),
    ],
)  # fmt: skip
def test_wrong_settings_answer_400_naming_the_field(shop, manager, data, fields):
    response = _token_client(manager, shop).post(
        "/api/v1/alert-rules/", data, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["fields"] == fields
    assert not AlertRule.objects.in_workspace(shop).exists()


def test_a_rule_on_the_expected_value_keeps_its_threshold_and_says_itself(shop, manager):
    response = _token_client(manager, shop).post(
        "/api/v1/alert-rules/",
        {"kind": "expected_value_drop", "threshold": 15, "min_customers": 9},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    rule = AlertRule.objects.in_workspace(shop).get()
    assert (rule.threshold, rule.min_customers) == (15, None)  # the other kind's is dropped
    assert rule.description == "The customers' expected value ahead falls by more than 15%"


def test_a_patch_that_breaks_a_rule_is_refused_and_the_rule_stays(shop, manager):
    rule = AlertRule.objects.create(workspace=shop, kind="segment_size_change", threshold=20)
    response = _token_client(manager, shop).patch(
        f"/api/v1/alert-rules/{rule.pk}/", {"threshold": None}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "threshold" in response.json()["fields"]
    rule.refresh_from_db()
    assert rule.threshold == 20


def test_marketing_reads_and_acknowledges_but_cannot_change_rules(shop, make_user):
    marketer = make_user("marketing", username="mara")
    rule = AlertRule.objects.create(workspace=shop, kind="scheduled_run_failed")
    alert = Alert.objects.create(workspace=shop, rule=rule, kind=rule.kind, message="It failed")
    done = Alert.objects.create(workspace=shop, kind=rule.kind, message="Old news")
    done.acknowledged_by = marketer
    done.save()
    api = _token_client(marketer, shop)

    assert [r["id"] for r in api.get("/api/v1/alert-rules/").json()["results"]] == [rule.pk]
    assert api.get(f"/api/v1/alert-rules/{rule.pk}/").status_code == 200
    assert api.post("/api/v1/alert-rules/", {"kind": "scheduled_run_failed"},
                    content_type="application/json").status_code == 403  # fmt: skip
    assert api.patch(f"/api/v1/alert-rules/{rule.pk}/", {"enabled": False},
                     content_type="application/json").status_code == 403  # fmt: skip
    assert api.delete(f"/api/v1/alert-rules/{rule.pk}/").status_code == 403
    rule.refresh_from_db()
    assert rule.enabled

    listed = api.get("/api/v1/alerts/").json()["results"]
    assert [a["id"] for a in listed] == [done.pk, alert.pk]
    assert listed[1]["message"] == "It failed" and listed[1]["rule"] == rule.pk
    Alert.objects.in_workspace(shop).filter(pk=done.pk).update(acknowledged_at=alert.created_at)
    assert [a["id"] for a in api.get("/api/v1/alerts/?open=true").json()["results"]] == [alert.pk]

    response = api.post(f"/api/v1/alerts/{alert.pk}/acknowledge/")
    assert response.status_code == 200
    assert response.json()["acknowledged_by"] == "mara"
    assert response.json()["acknowledged_at"] is not None
    assert api.get("/api/v1/alerts/?open=true").json()["results"] == []


def test_a_read_only_token_cannot_acknowledge(shop, make_user):
    manager = make_user("manager", username="manny")
    alert = Alert.objects.create(workspace=shop, kind="scheduled_run_failed", message="x")
    api = _token_client(manager, shop, read_only=True)
    assert api.post(f"/api/v1/alerts/{alert.pk}/acknowledge/").status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_the_schema_documents_the_alerts_endpoints(shop, manager):
    client = Client()
    client.force_login(manager)
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert set(paths["/api/v1/alert-rules/"]) >= {"get", "post"}
    assert set(paths["/api/v1/alert-rules/{rule_id}/"]) >= {"get", "put", "patch", "delete"}
    assert "post" in paths["/api/v1/alerts/{alert_id}/acknowledge/"]
    assert paths["/api/v1/alert-rules/"]["post"]["summary"] == "Add an alert rule"


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("min_customers", "100", "Must be a whole number"),
        ("min_customers", True, "Must be a whole number"),
        ("enabled", 0, "Must be true or false"),
        ("recipients", 5, "Must be text"),
    ],
)
def test_a_value_of_the_wrong_json_type_is_refused(shop, manager, field, value, words):
    api = _token_client(manager, shop)
    rule = {"kind": "valuable_to_lapsed", "min_customers": 100, "recipients": "crm@shop.example"}
    response = api.post(
        "/api/v1/alert-rules/", {**rule, field: value}, content_type="application/json"
    )
    assert response.status_code == 400
    assert words in " ".join(response.json()["fields"][field])
    assert not AlertRule.objects.in_workspace(shop).exists()
