"""The OpenAPI schema: valid for the whole project, and every operation answers as documented
(schemathesis, in-process against the WSGI app with an admin token, rate limits lifted so
every POST operation's logic is fuzzed rather than its 429; tests/api/test_access.py checks
the 429 itself and its Retry-After)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.throttling import ScopedRateThrottle
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

ROOT = Path(__file__).resolve().parents[2]
MAX_EXAMPLES = 12
#: Revoking the token would sign the fuzzer itself out; tests/api/test_access.py covers it.
SKIP = {"auth_token_revoke_create"}
#: Every check that applies to one call: no 500, no undocumented status or content type, and
#: bodies as the schema describes them.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_spectacular_validates_the_whole_project_without_warnings(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "segmentation_site.settings.test"}
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn",
         "--file", str(tmp_path / "schema.yaml")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def _schema_dict() -> dict:
    raw = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(raw, renderer_context={}))


SCHEMA = schemathesis.openapi.from_dict(_schema_dict())
OPERATIONS = {
    op.definition.raw.get("operationId", op.label): op
    for op in (result.ok() for result in SCHEMA.get_all_operations())
}


def test_every_api_view_is_in_the_schema():
    assert {"predict_create", "runs_create", "segments_members_list", "transactions_create",
            "customers_retrieve", "runs_report_retrieve"} <= set(OPERATIONS)  # fmt: skip


#: component -> the value-ahead fields it must document as nullable numbers.
VALUE_AHEAD_COMPONENTS = {
    "Segment": ("expected_value", "share_expected_value", "value_per_customer", "median_p_alive"),
    "SegmentMember": ("p_alive", "expected_purchases", "expected_value"),
    "Customer": ("p_alive", "expected_purchases", "expected_value"),
    "CurrentSegment": ("p_alive", "expected_purchases", "expected_value"),
    "SegmentHistoryEntry": ("p_alive", "expected_purchases", "expected_value"),
    "Prediction": ("p_alive", "expected_purchases", "expected_value"),
    "BatchPrediction": ("p_alive", "expected_purchases", "expected_value"),
}


def test_value_ahead_fields_are_in_the_schema_as_nullable_numbers():
    components = _schema_dict()["components"]["schemas"]
    for component, fields in VALUE_AHEAD_COMPONENTS.items():
        properties = components[component]["properties"]
        for name in fields:
            spec = properties[name]
            assert spec["type"] == "number" and spec["format"] == "double", (component, name)
            assert spec["nullable"] is True, (component, name)
            assert "null" in spec["description"], (component, name)
    predicted = components["Prediction"]["properties"]["expected_value"]["description"]
    assert "null for raw features" in predicted
    horizon = components["PublishedSegments"]["properties"]["horizon_days"]
    assert horizon["type"] == "integer" and horizon["nullable"] is True


@pytest.fixture
def value_ahead_stored(world, db):
    """Every other operation's answers carry numbers and nulls both: the published run holds
    value ahead, with one member per segment not estimated."""
    from clustering.models import SegmentationRun
    from clustering.predicting import forget_published_model
    from tests.reports.value_ahead_data import store_value_ahead

    store_value_ahead(SegmentationRun.unscoped.get(pk=world.run_id))
    forget_published_model()
    yield
    forget_published_model()


@pytest.fixture
def keep_test_connection():
    """Like Django's test client: a request must not close the test's database connection."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def no_rate_limits(monkeypatch):
    """Every scope's limit far above what the fuzzer sends (the sign-in limits included)."""
    rates = dict.fromkeys(ScopedRateThrottle.THROTTLE_RATES, "1000000/min")
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", rates)


def test_a_multipart_body_to_predict_is_a_415(api, world):
    response = api("admin").post("/api/v1/predict/", {"customer_id": world.customer_ids[0]})
    assert response.status_code == 415
    body = response.json()
    assert body == {"status": 415, "code": "unsupported_media_type", "detail": body["detail"],
                    "fields": {}}  # fmt: skip


@pytest.mark.parametrize("operation_id", sorted(set(OPERATIONS) - SKIP))
def test_operation_conforms_to_the_schema(
    api, world, value_ahead_stored, keep_test_connection, no_rate_limits, operation_id
):
    app = get_wsgi_application()
    headers = {"Authorization": f"Token {world.tokens['admin']}"}
    operation = OPERATIONS[operation_id]
    statuses = set()

    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        response = case.call(app=app, headers=headers)
        statuses.add(response.status_code)
        case.validate_response(
            response,
            checks=CHECKS,
            headers=headers,
            transport_kwargs={"app": app},
        )

    check()
    assert 429 not in statuses, "the fuzzer met a rate limit: the operation went unfuzzed"
