"""Who may call what: the role x endpoint matrix, revoked and read-only tokens, sessions."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import ApiToken

pytestmark = pytest.mark.django_db

WHO = ("anon", None, "marketing", "manager", "admin")
LINE = {
    "customer_id": "matrix-1",
    "invoice": "900001",
    "timestamp": "2024-01-02T10:00:00Z",
    "quantity": 2,
    "unit_price": 3.5,
}
FEATURES = {
    "recency_days": 12,
    "frequency": 5,
    "monetary_total": 1200.5,
    "tenure_days": 300,
    "avg_basket_value": 240.1,
}


def _endpoints(world):
    run, customer = world.run_id, world.customer_ids[0]
    # (method, path, body, status for marketing, manager, admin); anon is always 401, and
    # a token of the shop whose user is no member of it 404 (no such workspace).
    return [
        ("get", "/api/v1/me/", None, (200, 200, 200)),
        ("get", "/api/v1/system/worker/", None, (200, 200, 200)),
        ("get", "/api/v1/imports/", None, (403, 200, 200)),
        ("get", "/api/v1/customers/", None, (200, 200, 200)),
        ("get", f"/api/v1/customers/{customer}/", None, (200, 200, 200)),
        ("delete", f"/api/v1/customers/{customer}/", None, (403, 200, 200)),
        ("get", "/api/v1/kept-out-customers/", None, (403, 200, 200)),
        ("post", "/api/v1/kept-out-customers/", {"customer_ids": ["T-1"]}, (403, 201, 201)),
        ("get", "/api/v1/kept-out-customers/T-0/", None, (403, 404, 404)),
        ("get", "/api/v1/transactions/", None, (200, 200, 200)),
        ("post", "/api/v1/transactions/", {"lines": [LINE]}, (403, 201, 201)),
        ("get", "/api/v1/runs/", None, (403, 200, 200)),
        ("post", "/api/v1/runs/", {"algorithms": ["kmeans"], "k_max": 4}, (403, 201, 201)),
        ("get", f"/api/v1/runs/{run}/", None, (403, 200, 200)),
        ("get", f"/api/v1/runs/{run}/candidates/", None, (403, 200, 200)),
        ("get", f"/api/v1/runs/{run}/report/", None, (403, 200, 200)),
        ("post", f"/api/v1/runs/{run}/cancel/", None, (403, 409, 409)),
        ("post", f"/api/v1/runs/{run}/publish/", None, (403, 200, 200)),
        ("get", "/api/v1/segments/", None, (200, 200, 200)),
        ("get", "/api/v1/segments/0/", None, (200, 200, 200)),
        ("get", "/api/v1/segments/0/members/", None, (200, 200, 200)),
        ("get", "/api/v1/segments/0/members.csv", None, (200, 200, 200)),
        ("get", "/api/v1/segments/0/ad-audience.csv", None, (403, 200, 200)),
        ("post", "/api/v1/predict/", {"customer_id": customer}, (200, 200, 200)),
        ("post", "/api/v1/predict/", {"features": FEATURES}, (200, 200, 200)),
    ]


def _call(client, method, path, body):
    if method == "get":
        return client.get(path)
    return getattr(client, method)(path, body or {}, content_type="application/json")


MATRIX_SIZE = 25


@pytest.mark.parametrize("index", range(MATRIX_SIZE))
@pytest.mark.parametrize("who", WHO, ids=lambda w: str(w))
def test_role_matrix(api, world, who, index):
    endpoints = _endpoints(world)
    assert len(endpoints) == MATRIX_SIZE
    method, path, body, by_role = endpoints[index]
    if who == "anon":
        expected = 401
    elif who is None:
        expected = 404
    else:
        expected = by_role[("marketing", "manager", "admin").index(who)]
    response = _call(api(who), method, path, body)
    assert response.status_code == expected, (method, path, who, response.content[:300])
    if expected in (401, 403, 404):
        body = response.json()
        assert body["status"] == expected
        assert body["detail"]
        assert body["fields"] == {}


def test_a_signed_in_session_works_like_a_token(world, db):
    client = Client()
    client.force_login(world.users["marketing"])
    assert client.get("/api/v1/segments/").status_code == 200
    assert client.get("/api/v1/runs/").status_code == 403


def test_a_revoked_token_is_refused(api, world):
    client = api("marketing")
    assert client.get("/api/v1/segments/").status_code == 200
    assert client.post("/api/v1/auth/token/revoke/").status_code == 204
    for response in (
        client.get("/api/v1/segments/"),
        client.post(
            "/api/v1/predict/",
            {"customer_id": world.customer_ids[0]},
            content_type="application/json",
        ),
    ):
        assert response.status_code == 401
        assert response.json() == {
            "status": 401,
            "code": "authentication_failed",
            "detail": "Invalid token.",
            "fields": {},
        }


def test_a_deleted_token_is_refused(api, world):
    ApiToken.unscoped.filter(user=world.users["manager"], read_only=False).delete()
    assert api("manager").get("/api/v1/runs/").status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/runs/", {"algorithms": ["kmeans"]}),
        ("post", "/api/v1/runs/{run}/cancel/", None),
        ("post", "/api/v1/runs/{run}/publish/", None),
        ("post", "/api/v1/transactions/", {"lines": [LINE]}),
        ("post", "/api/v1/system/worker/", None),
        ("put", "/api/v1/playbook/0/", {"action": "Call them."}),
        ("delete", "/api/v1/customers/{customer}/", None),
    ],
)
def test_read_only_tokens_cannot_write(api, world, method, path, body):
    client = api("admin", read_only=True)
    response = _call(
        client, method, path.format(run=world.run_id, customer=world.customer_ids[0]), body
    )
    assert response.status_code == 403
    assert response.json() == {
        "status": 403,
        "code": "permission_denied",
        "detail": "This API token is read-only.",
        "fields": {},
    }


def test_read_only_tokens_can_read_and_predict(api, world):
    client = api("manager", read_only=True)
    assert client.get("/api/v1/runs/").status_code == 200
    assert client.get("/api/v1/segments/0/members/").status_code == 200
    response = client.post(
        "/api/v1/predict/", {"features": FEATURES}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["source"] == "predicted"


def test_a_read_only_token_of_a_user_with_no_role_still_cannot_predict(api):
    response = api(None, read_only=True).post(
        "/api/v1/predict/", {"features": FEATURES}, content_type="application/json"
    )
    assert response.status_code == 404


def test_predict_is_throttled_in_its_own_scope(api, world, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    rates = {**ScopedRateThrottle.THROTTLE_RATES, "predict": "3/hour"}  # no window edge
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", rates)
    client = api("marketing")
    body = {"customer_id": world.customer_ids[0]}
    codes = [
        client.post("/api/v1/predict/", body, content_type="application/json").status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    # Other scopes are not used up.
    assert client.get("/api/v1/segments/").status_code == 200
