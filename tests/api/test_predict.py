"""POST /api/v1/predict/: stored and predicted segments, batches, bad input, the cache."""

from __future__ import annotations

import pytest
from django.urls import reverse

from clustering.models import Segment, SegmentAssignment, SegmentationRun
from clustering.services import run_publish

pytestmark = pytest.mark.django_db
URL = "/api/v1/predict/"


def post(client, body):
    return client.post(URL, body, content_type="application/json")


def stored(world, customer_id):
    return SegmentAssignment.unscoped.select_related("segment").get(
        run_id=world.run_id, customer__external_id=customer_id
    )


def features_of(assignment) -> dict:
    return {f: getattr(assignment, f) for f in SegmentAssignment.FEATURE_FIELDS}


def test_url_is_versioned():
    assert reverse("api-predict") == URL


def test_a_known_customer_gets_the_stored_segment(api, world):
    customer_id = world.customer_ids[0]
    a = stored(world, customer_id)
    response = post(api("marketing"), {"customer_id": customer_id})
    assert response.status_code == 200, response.content
    assert response.json() == {
        "run_id": world.run_id,
        "customer_id": customer_id,
        "segment_number": a.segment.number,
        "segment_id": a.segment.number,
        "segment_name": a.segment.name,
        "action": a.segment.action,
        "value": a.segment.value,
        "engagement": a.segment.engagement,
        "activity": a.segment.activity,
        "why": a.segment.why,
        "confidence": a.confidence,
        "source": "stored",
        "p_alive": a.p_alive,
        "expected_purchases": a.expected_purchases,
        "expected_value": a.expected_value,
        "next_purchase_days": a.next_purchase_days,
        "currency": "GBP",  # the shop's, beside the amounts
    }


def test_the_same_customers_features_predict_the_same_segment(api, world):
    client = api("marketing")
    for customer_id in world.customer_ids[:40]:
        a = stored(world, customer_id)
        response = post(client, {"features": features_of(a)})
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["source"] == "predicted"
        assert body["customer_id"] is None
        assert (body["segment_id"], body["segment_name"]) == (a.segment.number, a.segment.name)
        assert body["confidence"] == pytest.approx(a.confidence, abs=1e-9)


def test_segment_number_and_the_deprecated_segment_id_are_the_same_number(api, world):
    client = api("marketing")
    customer_id = world.customer_ids[0]
    number = stored(world, customer_id).segment.number
    single = post(client, {"customer_id": customer_id}).json()
    assert single["segment_number"] == single["segment_id"] == number
    features = features_of(stored(world, customer_id))
    by_features = post(client, {"features": features}).json()
    assert by_features["segment_number"] == by_features["segment_id"] == number
    batch = post(client, {"customers": [{"customer_id": customer_id}, {"features": features}]})
    for row in batch.json()["results"]:
        assert row["segment_number"] == row["segment_id"] == number


def test_the_schema_marks_segment_id_deprecated_in_favour_of_segment_number():
    from drf_spectacular.generators import SchemaGenerator

    components = SchemaGenerator().get_schema(request=None, public=True)["components"]
    for name in ("Prediction", "BatchPrediction"):
        fields = components["schemas"][name]["properties"]
        assert "segment_number" in fields
        assert fields["segment_id"]["deprecated"] is True
        assert fields["segment_id"]["description"].startswith("Deprecated: use segment_number")


def test_a_batch_equals_the_single_predicts(api, world):
    client = api("marketing")
    ids = world.customer_ids[:10]
    items = [{"customer_id": c} for c in ids]
    items += [{"features": features_of(stored(world, c))} for c in world.customer_ids[10:30]]
    items.append({"customer_id": "no-such-customer"})
    response = post(client, {"customers": items})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["run_id"] == world.run_id
    assert body["currency"] == "GBP"
    singles = []
    for index, item in enumerate(items):
        single = post(client, item)
        if item.get("customer_id") == "no-such-customer":
            assert single.status_code == 404
            expected = {
                "index": index,
                "customer_id": "no-such-customer",
                "segment_number": None,
                "segment_id": None,
                "segment_name": None,
                "action": None,
                "value": None,
                "engagement": None,
                "activity": None,
                "why": None,
                "confidence": None,
                "source": None,
                "p_alive": None,
                "expected_purchases": None,
                "expected_value": None,
                "next_purchase_days": None,
                "currency": "GBP",
                "error": "customer not in the published segmentation; send features instead",
            }
        else:
            assert single.status_code == 200
            expected = {"index": index, **single.json(), "error": None}
            del expected["run_id"]
        singles.append(expected)
    assert body["results"] == singles


def test_an_unknown_customer_is_a_clear_404(api):
    response = post(api("marketing"), {"customer_id": "no-such-customer"})
    assert response.status_code == 404
    assert response.json() == {
        "status": 404,
        "code": "customer_not_in_segmentation",
        "detail": "customer not in the published segmentation; send features instead",
        "fields": {},
    }


GOOD = {
    "recency_days": 12,
    "frequency": 5,
    "monetary_total": 1200.5,
    "tenure_days": 300,
    "avg_basket_value": 240.1,
}
GTE0 = "Ensure this value is greater than or equal to 0."


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"non_field_errors": ["Give exactly one of customer_id, features and customers."]}),
        (
            {"customer_id": "1", "features": GOOD},
            {"non_field_errors": ["Give exactly one of customer_id, features and customers."]},
        ),
        ({"features": {**GOOD, "recency_days": -1}}, {"features": {"recency_days": [GTE0]}}),
        (
            {"features": {**GOOD, "frequency": "many"}},
            {"features": {"frequency": ["A valid number is required."]}},
        ),
        (
            {"features": {**GOOD, "monetary_total": 1e300}},
            {
                "features": {
                    "monetary_total": ["Ensure this value is less than or equal to 100000000000.0."]
                }
            },
        ),
        (
            {"features": {**GOOD, "return_rate": 2}},
            {"features": {"return_rate": ["Ensure this value is less than or equal to 1."]}},
        ),
        (
            {"features": {k: v for k, v in GOOD.items() if k != "tenure_days"}},
            {
                "features": {
                    "tenure_days": ["This feature is required by the published segmentation."]
                }
            },
        ),
        (
            {"features": {**GOOD, "recency_days": None}},
            {"features": {"recency_days": ["This field may not be null."]}},
        ),
        (
            {"features": {**GOOD, "shoe_size": 42}},
            {"features": {"shoe_size": ["Not a customer feature."]}},
        ),
        (
            {"features": "recency=12"},
            {
                "features": {
                    "non_field_errors": ["Invalid data. Expected a dictionary, but got str."]
                }
            },
        ),
        ({"customers": []}, {"customers": ["Ensure this field has at least 1 elements."]}),
        (
            {"customers": [{"customer_id": "1"}] * 1001},
            {"customers": ["Ensure this field has no more than 1000 elements."]},
        ),
        (
            {"customers": [{"customer_id": "1"}, {"features": {**GOOD, "recency_days": -5}}]},
            {"customers": {"1": {"features": {"recency_days": [GTE0]}}}},
        ),
        (
            ["17850"],
            {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]},
        ),
    ],
    ids=[
        "empty",
        "both",
        "negative",
        "non-numeric",
        "absurd",
        "rate-above-1",
        "missing",
        "null",
        "unknown-feature",
        "features-not-object",
        "empty-batch",
        "batch-too-big",
        "bad-item-in-batch",
        "list-body",
    ],
)
def test_malformed_payloads_are_400_with_field_errors(api, body, fields):
    response = post(api("marketing"), body)
    assert response.status_code == 400, response.content
    payload = response.json()
    assert payload["status"] == 400
    assert payload["code"] == "invalid"
    assert payload["fields"] == fields


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(api, literal):
    body = '{"features": {"recency_days": ' + literal + ', "frequency": 1}}'
    response = api("marketing").post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_no_published_run_is_a_clear_404(api):
    SegmentationRun.unscoped.update(is_published=False)
    response = post(api("marketing"), {"features": GOOD})
    assert response.status_code == 404
    assert response.json() == {
        "status": 404,
        "code": "no_published_run",
        "detail": "No segmentation is published yet: a manager must publish a run first.",
        "fields": {},
    }


def test_a_missing_predictor_file_is_a_503_not_a_500(api, world, predictor_loads):
    SegmentationRun.unscoped.filter(pk=world.run_id).update(predictor_file="predictors/gone.joblib")
    response = post(api("marketing"), {"features": GOOD})
    assert response.status_code == 503
    assert response.json()["code"] == "predictor_unavailable"


def _copy_of_published_run(world, manager) -> SegmentationRun:
    """Another succeeded run with the same predictor file and segments (cheap to make)."""
    run = SegmentationRun.unscoped.get(pk=world.run_id)
    segments = list(Segment.unscoped.filter(run=run))
    run.pk = None
    run.is_published = False
    run.published_at = None
    run.save()
    for segment in segments:
        segment.pk = None
        segment.run = run
        segment.name = f"{segment.name} (again)"
    Segment.unscoped.bulk_create(segments)
    return run


def test_the_predictor_is_loaded_once_and_reloaded_after_another_publish(
    api, world, predictor_loads
):
    client = api("marketing")
    for _ in range(5):
        assert post(client, {"features": GOOD}).status_code == 200
    assert predictor_loads.call_count == 1

    other = _copy_of_published_run(world, world.users["manager"])
    run_publish(workspace=world.workspace, run_id=other.pk, user=world.users["manager"])
    body = post(client, {"features": GOOD}).json()
    assert predictor_loads.call_count == 2
    assert body["run_id"] == other.pk
    assert body["segment_name"].endswith("(again)")
    for _ in range(3):
        post(client, {"features": GOOD})
    assert predictor_loads.call_count == 2


def test_predict_costs_a_bounded_number_of_queries(api, world, django_assert_max_num_queries):
    client = api("marketing")
    post(client, {"features": GOOD})  # warm: predictor loaded, token last-used stamped
    # knox's token lookup (2), the user's and groups' permissions (2), the published run (1);
    # a stored customer adds its assignment (1). No predictor load.
    with django_assert_max_num_queries(5):
        assert post(client, {"features": GOOD}).status_code == 200
    with django_assert_max_num_queries(6):
        assert post(client, {"customer_id": world.customer_ids[0]}).status_code == 200


def test_read_only_tokens_may_predict(api, world):
    response = post(api("marketing", read_only=True), {"customer_id": world.customer_ids[0]})
    assert response.status_code == 200
    assert response.json()["source"] == "stored"


@pytest.mark.parametrize(
    "value",
    [
        "17850",
        "C-1",
        "x" * 64,
        "x" * 65,
        " 17850",
        "17850 ",
        "",
        "é1",
        "a\x00b",
        "a\tb",
        17850,
        None,
    ],
)
def test_the_plain_customer_id_shortcut_accepts_only_what_the_serializer_accepts(value):
    from clustering.api.predict import _plain_customer_id_request
    from clustering.serializers import PredictRequestSerializer

    body = {"customer_id": value}
    fast = _plain_customer_id_request(body)
    serializer = PredictRequestSerializer(data=body, context={"required_features": ()})
    valid = serializer.is_valid()
    if fast is not None:
        assert valid and dict(serializer.validated_data) == fast
    # Plain ids take the shortcut; anything else is left to the serializer.
    assert (fast is not None) == (isinstance(value, str) and value in ("17850", "C-1", "x" * 64))
    assert _plain_customer_id_request({**body, "features": {}}) is None
