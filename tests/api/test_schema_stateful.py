"""Stateful schemathesis: the OpenAPI links (common/api_schema_links.py) chained as a client
would follow them, with real ids from earlier answers instead of random ones: a run created
then read with its report and candidates, customers listed then one read then predicted, the
published segments to their members to a customer, the latest movements to that publication.
Every check runs on every step (those schemathesis_support.EXCLUDED names aside), the
stateful ones (use_after_free, ensure_resource_availability) included."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from tests.api.schemathesis_support import (  # the fixtures the state machine needs
    admin_headers,
    excluded_checks,
    keep_test_connection,  # noqa: F401
    load_schema,
    no_rate_limits,  # noqa: F401
    value_ahead_stored,  # noqa: F401
)

#: Only the links the schema declares (schemathesis's own inference would add guesses), with
#: schema-valid data: the fuzzing test sends the invalid kinds to every operation.
SCHEMA = load_schema(
    {
        "generation": {"mode": "positive"},
        "phases": {"stateful": {"max-steps": 10, "inference": {"algorithms": []}}},
    }
)
#: Lists whose first item a link follows: sent without filters, so they have a first item
#: (a random country or cursor empties them; the fuzzing test sends those).
UNFILTERED = {"customers_list", "segments_members_list", "runs_list"}
#: The flows the state machine must have followed, each to a 2xx answer.
FLOWS = {
    ("runs_create", "runs_retrieve"),
    ("runs_create", "runs_report_retrieve"),
    ("customers_list", "customers_retrieve"),
    ("customers_retrieve", "predict_create"),
    ("segments_list", "segments_members_list"),
    ("segments_members_list", "customers_retrieve"),
    ("movements_latest", "movements_retrieve"),
}


def _operation_id(case) -> str:
    return case.operation.definition.raw["operationId"]


def test_the_schema_links_the_flows():
    links = {
        (operation["operationId"], link["operationId"])
        for path_item in SCHEMA.raw_schema["paths"].values()
        for operation in path_item.values()
        for response in operation["responses"].values()
        for link in response.get("links", {}).values()
    }
    assert links >= FLOWS


@pytest.mark.usefixtures("value_ahead_stored", "keep_test_connection", "no_rate_limits")
def test_linked_flows_conform_to_the_schema(world):
    followed: set[tuple[str, str]] = set()
    ids: dict[str, str] = {}  # case id -> operationId, to name a step's parent

    class Flows(SCHEMA.as_state_machine()):
        def before_call(self, case):
            if _operation_id(case) in UNFILTERED:
                case.query = {}

        def get_call_kwargs(self, case):
            return {"headers": admin_headers(world)}

        def step(self, input):
            output = super().step(input)
            ids[input.case.id] = _operation_id(input.case)
            # A link followed with the values it took from its parent's answer, to a 2xx.
            link = input.transition
            if link is not None and input.is_applied and 200 <= output.response.status_code < 300:
                followed.add((ids[link.parent_id], ids[input.case.id]))
            return output

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            assert response.status_code != 429, "a rate limit stopped the flow"
            case.validate_response(
                response,
                excluded_checks=excluded_checks(case),
                headers=kwargs.get("headers"),
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
            )

    # Which flows a fixed number of scenarios reaches depends on the ids the database hands
    # out (the suite's earlier tests move them): more scenarios, still derandomized, until
    # every flow was followed or the last bound is spent.
    for scenarios in (25, 60, 120):
        Flows.run(
            settings=settings(
                max_examples=scenarios,
                stateful_step_count=10,
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            )
        )
        if followed >= FLOWS:
            break
    assert followed >= FLOWS, FLOWS - followed
