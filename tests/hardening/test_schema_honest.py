"""A schema clients can trust (issue 23, item 11): JSON bodies declared as JSON only (and a
multipart post answered 415), every error status an operation can give declared with the
error body, and one error shape for the import upload's 400, the token's 401 and a lockout's
429. Schemathesis over every operation, rate limits lifted: tests/api/test_schema.py."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

ERROR_KEYS = {"status", "code", "detail", "fields"}
#: The only operation that reads a file, hence multipart; every other body is JSON.
UPLOADS = {"imports_create"}
#: Operations a rate limit counts (and whose limit lives in the cache).
THROTTLED = {
    "auth_token_create",
    "imports_create",
    "predict_create",
    "runs_create",
    "runs_cancel_create",
    "runs_publish_create",
    "transactions_create",
}
#: Predict answers 404 before reading its body when no run is published: its 415 is tested
#: with a published run in tests/api/test_schema.py.
JSON_POSTS = ["api-token-create", "api-runs", "api-transactions"]


@pytest.fixture(scope="module")
def schema() -> dict:
    raw = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(raw, renderer_context={}))


def operations(schema: dict) -> dict[str, dict]:
    return {
        op["operationId"]: {**op, "path": path}
        for path, methods in schema["paths"].items()
        for op in methods.values()
    }


def component(schema: dict, ref: str) -> dict:
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_json_bodies_are_declared_as_json_only(schema):
    bodies = {
        op_id: sorted(op["requestBody"]["content"])
        for op_id, op in operations(schema).items()
        if "requestBody" in op
    }
    assert {"predict_create", "runs_create", "transactions_create", "auth_token_create"} <= set(
        bodies
    )
    for op_id, media_types in bodies.items():
        expected = ["multipart/form-data"] if op_id in UPLOADS else ["application/json"]
        assert media_types == expected, op_id


def test_every_operation_declares_its_errors_with_the_error_body(schema):
    ops = operations(schema)
    assert set(ops) >= THROTTLED
    for op_id, op in ops.items():
        responses = op["responses"]
        expected = {"401"}
        if op_id in THROTTLED:
            expected |= {"429", "503"}
        if "{" in op["path"]:
            expected |= {"400", "404"}
        if "requestBody" in op:
            expected |= {"400", "413", "415"}
        if op_id != "auth_token_create":
            expected.add("403")
        assert expected <= set(responses), (op_id, sorted(expected - set(responses)))
        for status, response in responses.items():
            if not status.startswith(("4", "5")):
                continue
            body = response["content"]["application/json"]["schema"]
            properties = component(schema, body["$ref"])["properties"]
            assert set(properties) >= ERROR_KEYS, (op_id, status)


@pytest.mark.parametrize("name", JSON_POSTS)
def test_a_multipart_post_to_a_json_operation_is_a_415_in_the_error_body(make_user, name):
    client = Client()
    client.force_login(make_user("admin", username="root"))
    response = client.post(reverse(name), {"username": "root", "customer_id": "1"})
    assert response.status_code == 415
    assert response.json() == {
        "status": 415,
        "code": "unsupported_media_type",
        "detail": 'Unsupported media type "multipart/form-data; boundary=BoUnDaRyStRiNg" '
        "in request.",
        "fields": {},
    }


def test_an_unusable_import_file_is_a_400_in_the_error_body(client_for):
    response = client_for("manager").post(
        reverse("api-imports"),
        {"file": SimpleUploadedFile("x.csv", b"a,b\n1,2\n", "text/csv")},
    )
    assert response.status_code == 400
    body = response.json()
    message = body["detail"]
    assert message
    assert body == {
        "status": 400,
        "code": "mapping_needed",
        "detail": message,
        "fields": {"file": [message]},
        "columns": ["a", "b"],
        "missing_fields": ["customer_id", "timestamp", "unit_price or amount"],
    }


def test_an_empty_import_file_is_a_400_in_the_error_body(client_for):
    response = client_for("manager").post(
        reverse("api-imports"), {"file": SimpleUploadedFile("x.csv", b"", "text/csv")}
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["status"] == 400
    assert body["code"] in ("invalid_file", "invalid")
    assert body["fields"]["file"]


def test_a_wrong_password_is_a_401_in_the_error_body(make_user):
    make_user("manager", username="mia")
    response = Client().post(
        reverse("api-token-create"),
        {"username": "mia", "password": "wrong"},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert response.json() == {
        "status": 401,
        "code": "authentication_failed",
        "detail": "Invalid username or password.",
        "fields": {},
    }


def test_a_locked_out_username_is_a_429_in_the_error_body_with_retry_after(make_user, settings):
    make_user("manager", username="mia")
    client = Client()
    url = reverse("api-token-create")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(url, {"username": "mia", "password": "no"}, content_type="application/json")
    response = client.post(
        url, {"username": "mia", "password": "pw-for-tests-1"}, content_type="application/json"
    )
    assert response.status_code == 429
    assert response["Retry-After"] == str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    body = response.json()
    assert body == {"status": 429, "code": "locked_out", "detail": body["detail"], "fields": {}}
    assert "locked" in body["detail"]
