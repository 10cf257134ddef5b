"""The OpenAPI schema: valid for the whole project, and every operation answers as documented
under every check schemathesis has (max_response_time aside: no wall-clock assertions), in
its examples, coverage and fuzzing phases with positive and negative data, in-process against
the WSGI app with an admin token, rate limits lifted so every POST operation's logic is
fuzzed rather than its 429 (tests/api/test_access.py checks the 429 itself and its
Retry-After). The checks that do not apply to an operation are in schemathesis_support."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.api.schemathesis_support import (  # the fixtures the fuzzing test uses
    admin_headers,
    excluded_checks,
    keep_test_connection,  # noqa: F401
    load_schema,
    no_rate_limits,  # noqa: F401
    schema_dict,
    value_ahead_stored,  # noqa: F401
)

ROOT = Path(__file__).resolve().parents[2]
MAX_EXAMPLES = 12
#: Revoking the token would sign the fuzzer itself out; tests/api/test_access.py covers it.
SKIP = {"auth_token_revoke_create"}


def test_spectacular_validates_the_whole_project_without_warnings(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "segmentation_site.settings.test"}
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn",
         "--file", str(tmp_path / "schema.yaml")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


FUZZ = load_schema(
    {
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True},
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},  # tests/api/test_schema_stateful.py
        },
    }
)
OPERATIONS = {
    op.definition.raw.get("operationId", op.label): op
    for op in (result.ok() for result in FUZZ.get_all_operations())
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
    components = schema_dict()["components"]["schemas"]
    for component, fields in VALUE_AHEAD_COMPONENTS.items():
        properties = components[component]["properties"]
        for name in fields:
            spec = properties[name]
            assert spec["type"] == "number" and spec["format"] == "double", (component, name)
            assert spec["nullable"] is True, (component, name)
            assert "null" in spec["description"], (component, name)
    predicted = components["Prediction"]["properties"]["expected_value"]["description"]
    assert "recency_days, frequency and tenure_days" in predicted
    horizon = components["PublishedSegments"]["properties"]["horizon_days"]
    assert horizon["type"] == "integer" and horizon["nullable"] is True


def test_a_multipart_body_to_predict_is_a_415(api, world):
    response = api("admin").post("/api/v1/predict/", {"customer_id": world.customer_ids[0]})
    assert response.status_code == 415
    body = response.json()
    assert body == {"status": 415, "code": "unsupported_media_type", "detail": body["detail"],
                    "fields": {}}  # fmt: skip


def test_the_fuzzing_runs_every_check_schemathesis_has_but_response_time():
    from schemathesis.checks import CHECKS, CheckContext

    config = FUZZ.config.checks_config_for(operation=None, phase="fuzzing")
    context = CheckContext(
        override=None,
        auth=None,
        headers=None,
        config=config,
        transport_kwargs=None,
        response_checks=None,
    )
    enabled = {check.__name__ for check in context.internals.checks}
    assert enabled == set(CHECKS.get_all_names()) - {"max_response_time"}
    assert {"negative_data_rejection", "ignored_auth", "use_after_free"} <= enabled


FUZZ_OPERATIONS = FUZZ.exclude(operation_id=sorted(SKIP))


@FUZZ_OPERATIONS.parametrize()
@pytest.mark.usefixtures("value_ahead_stored", "keep_test_connection", "no_rate_limits")
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_operation_conforms_to_the_schema(case, world):
    # No `checks=`: every check schemathesis has runs, but those EXCLUDED names.
    response = case.call_and_validate(
        headers=admin_headers(world), excluded_checks=excluded_checks(case)
    )
    assert response.status_code != 429, "the fuzzer met a rate limit: the operation went unfuzzed"
