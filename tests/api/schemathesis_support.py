"""What the schemathesis tests share: the schema as generated, a loader that sends every
request (the checks' own re-sent ones included) to the WSGI app in-process, the checks that
do not apply to an operation and why, and the fixtures that let every request through."""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from rest_framework.throttling import ScopedRateThrottle
from schemathesis import checks
from schemathesis.config import SchemathesisConfig

#: The coverage phase and the state machine draw from schemathesis's seed: fixed, so every
#: run sends the same cases.
SEED = 23

KIND = "a rule's kind decides whether it needs a threshold or a customer count"
#: operationId -> check -> why that check does not apply to that operation. Every check not
#: named here runs on every operation.
EXCLUDED: dict[str, dict[str, str]] = {
    "alert_rules_create": {"positive_data_acceptance": KIND},
    "alert_rules_update": {"positive_data_acceptance": KIND},
    "alert_rules_partial_update": {"positive_data_acceptance": KIND},
    "schedule_update": {
        "positive_data_acceptance": "a cron expression's grammar is beyond JSON Schema",
    },
    "transactions_create": {
        # the one lenient operation, by decision: other systems send customer ids and
        # invoices as JSON numbers, and amounts as strings (docs/decisions/strict-api-types.md)
        "negative_data_rejection": "lines take numbers as text and text as numbers",
        "positive_data_acceptance": "a line needs a unit price or an amount: a rule across fields",
    },
    "imports_create": {
        "positive_data_acceptance": "a schema-valid file is any bytes, mostly not a CSV or workbook"
    },
    "webhooks_create": {
        "positive_data_acceptance": "a schema-valid URL need not resolve; the API checks it does"
    },
    "predict_create": {
        "positive_data_acceptance": "exactly one of customer_id, features, customers: across fields"
    },
    "settings_partial_update": {
        # generated clients cannot name an enum of them (GMT+0 and GMT-0 are one identifier)
        "positive_data_acceptance": "a time zone is one of 600 IANA names, not enumerated"
    },
    "kept_out_customers_create": {
        "positive_data_acceptance": "an id may stand for no customer (“0”) or be stored: the "
        "shop's data decides, not the schema"
    },
    "runs_create": {"positive_data_acceptance": "k_max >= k_min is a rule across two fields"},
    "audit_list": {
        "negative_data_rejection": "an empty date filter means no filter, as on the audit page",
        "positive_data_acceptance": "date_to before date_from is a rule across two fields",
    },
}


def schema_dict() -> dict:
    raw = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(raw, renderer_context={}))


def load_schema(config: dict) -> schemathesis.schemas.BaseSchema:
    """The project's schema for schemathesis with `config` (schemathesis.toml's keys), every
    request going to the app in-process."""
    schema = schemathesis.openapi.from_dict(
        schema_dict(), config=SchemathesisConfig.from_dict({"seed": SEED, **config})
    )
    schema.app = get_wsgi_application()
    return schema


def excluded_checks(case) -> list:
    """The checks EXCLUDED names for the case's operation (all others run)."""
    names = EXCLUDED.get(case.operation.definition.raw["operationId"], {})
    return [getattr(checks, name) for name in names]


def admin_headers(world) -> dict:
    return {"Authorization": f"Token {world.tokens['admin']}"}


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
