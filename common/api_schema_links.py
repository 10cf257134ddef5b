"""OpenAPI links: which answer's values a client feeds into which next call (a created run
to its report, a listed customer to their page and to predict). drf-spectacular has no
declaration for them, so a postprocessing hook adds them to the generated schema; clients
and schemathesis's stateful tests follow them."""

from __future__ import annotations

#: (operationId, status) -> link name -> (target operationId, {parameter: expression}, body).
#: A body is the request body of the target, with runtime expressions as its values.
LINKS: dict[tuple[str, str], dict[str, tuple[str, dict[str, str], dict | None]]] = {
    ("runs_create", "201"): {
        "GetRun": ("runs_retrieve", {"id": "$response.body#/id"}, None),
        "GetRunReport": ("runs_report_retrieve", {"id": "$response.body#/id"}, None),
        "ListRunCandidates": ("runs_candidates_list", {"id": "$response.body#/id"}, None),
    },
    ("runs_list", "200"): {
        "GetRun": ("runs_retrieve", {"id": "$response.body#/results/0/id"}, None),
    },
    ("runs_retrieve", "200"): {
        "GetRunReport": ("runs_report_retrieve", {"id": "$response.body#/id"}, None),
    },
    ("customers_list", "200"): {
        "GetCustomer": (
            "customers_retrieve",
            {"customer_id": "$response.body#/results/0/customer_id"},
            None,
        ),
    },
    ("customers_retrieve", "200"): {
        "PredictCustomer": (
            "predict_create",
            {},
            {"customer_id": "$response.body#/customer_id"},
        ),
    },
    ("segments_list", "200"): {
        "GetSegment": ("segments_retrieve", {"number": "$response.body#/segments/0/number"}, None),
        "ListSegmentMembers": (
            "segments_members_list",
            {"number": "$response.body#/segments/0/number"},
            None,
        ),
    },
    ("segments_members_list", "200"): {
        "GetCustomer": (
            "customers_retrieve",
            {"customer_id": "$response.body#/results/0/customer_id"},
            None,
        ),
    },
    ("movements_latest", "200"): {
        "GetMovements": (
            "movements_retrieve",
            {"publication_id": "$response.body#/later/publication_id"},
            None,
        ),
    },
}


def add_links(result, generator, request, public):
    """drf-spectacular postprocessing hook: put LINKS on their operations' responses."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            for status, response in operation.get("responses", {}).items():
                links = LINKS.get((operation.get("operationId"), status))
                if not links:
                    continue
                response["links"] = {
                    name: {
                        "operationId": target,
                        **({"parameters": parameters} if parameters else {}),
                        **({"requestBody": body} if body is not None else {}),
                    }
                    for name, (target, parameters, body) in links.items()
                }
    return result
