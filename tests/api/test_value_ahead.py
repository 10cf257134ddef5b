"""Value ahead in the API: segments, members (JSON and CSV), customers and predict by customer
id return the stored P(alive), expected purchases and expected value; null when the run did
not estimate them. Predictions from raw features get them from the run's value models when
the features hold a history (recency, orders, tenure)."""

from __future__ import annotations

import csv
import io

import pytest

from clustering.models import Segment, SegmentAssignment, SegmentationRun
from clustering.predicting import forget_published_model
from tests.reports.value_ahead_data import (
    HORIZON_DAYS,
    SEGMENT_VALUE_FIELDS,
    VALUE_FIELDS,
    clear_value_ahead,
    store_value_ahead,
)

pytestmark = pytest.mark.django_db
PREDICT = "/api/v1/predict/"


@pytest.fixture(params=["estimated", "not estimated"])
def value_state(request, world, db):
    """The published run with value ahead stored (one member per segment not estimated), or
    as a run made before the value stage; the predictor cache reloads either way."""
    run = SegmentationRun.unscoped.get(pk=world.run_id)
    if request.param == "estimated":
        store_value_ahead(run)
    else:
        clear_value_ahead(run)
    forget_published_model()
    yield request.param
    forget_published_model()


def values_of(obj, fields=VALUE_FIELDS) -> dict:
    return {f: getattr(obj, f) for f in fields}


def test_segments_list_and_detail_return_the_stored_value_ahead(api, world, value_state):
    client = api("marketing")
    body = client.get("/api/v1/segments/").json()
    segments = list(Segment.unscoped.filter(run_id=world.run_id).order_by("number"))
    assert body["horizon_days"] == (HORIZON_DAYS if value_state == "estimated" else None)
    got = [{f: s[f] for f in SEGMENT_VALUE_FIELDS} for s in body["segments"]]
    assert got == [values_of(s, SEGMENT_VALUE_FIELDS) for s in segments]
    detail = client.get(f"/api/v1/segments/{segments[0].number}/").json()
    assert {f: detail[f] for f in SEGMENT_VALUE_FIELDS} == values_of(
        segments[0], SEGMENT_VALUE_FIELDS
    )
    if value_state == "estimated":
        assert all(v is not None for s in got for v in s.values())
        assert sum(s["share_expected_value"] for s in got) == pytest.approx(1)
    else:
        assert all(v is None for s in got for v in s.values())


def test_members_json_and_csv_return_each_members_stored_values(api, world, value_state):
    segment = Segment.unscoped.filter(run_id=world.run_id).order_by("-size").first()
    client = api("marketing")
    page = client.get(f"/api/v1/segments/{segment.number}/members/?page_size=5000").json()
    stored = {
        a.customer.external_id: values_of(a)
        for a in SegmentAssignment.unscoped.filter(segment=segment).select_related("customer")
    }
    assert {m["customer_id"]: values_of_dict(m) for m in page["results"]} == stored
    nulls = sum(m["p_alive"] is None for m in page["results"])
    assert nulls == (1 if value_state == "estimated" else len(stored))

    response = client.get(f"/api/v1/segments/{segment.number}/members.csv")
    rows = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    )
    # rounded, units in the headers (the members export, clustering.report.member_export)
    headers = csv_headers(HORIZON_DAYS if value_state == "estimated" else None)
    assert list(rows[0])[-len(headers) :] == headers
    assert {r["Customer id"]: csv_values(r, headers) for r in rows} == {
        customer: rounded(values) for customer, values in stored.items()
    }


def values_of_dict(row: dict) -> dict:
    return {f: row[f] for f in VALUE_FIELDS}


def csv_headers(horizon_days: int | None) -> list[str]:
    """The members CSV's headers of VALUE_FIELDS (the horizon named when there is one)."""
    ahead = f"next {horizon_days} days" if horizon_days else "run's horizon"
    return [
        "Chance still a customer (%)",
        f"Expected purchases, {ahead}",
        f"Expected value, {ahead} (GBP)",
        "Next order within, if still active (days, median)",
    ]


#: How the CSV rounds each of VALUE_FIELDS (p_alive as a whole percentage).
ROUNDING = (lambda v: round(v * 100), lambda v: round(v, 1), lambda v: round(v, 2), round)


def rounded(values: dict) -> dict:
    return {
        f: None if values[f] is None else round_(values[f])
        for f, round_ in zip(VALUE_FIELDS, ROUNDING, strict=True)
    }


def csv_values(row: dict, headers: list[str]) -> dict:
    """A CSV row's value-ahead cells read back: an empty cell is a null."""
    return {
        f: float(row[h]) if row[h] != "" else None
        for f, h in zip(VALUE_FIELDS, headers, strict=True)
    }


def test_customers_list_and_detail_return_the_published_runs_values(api, world, value_state):
    client = api("marketing")
    listing = client.get("/api/v1/customers/?page_size=1000").json()
    stored = {
        a.customer.external_id: values_of(a)
        for a in SegmentAssignment.unscoped.filter(run_id=world.run_id).select_related("customer")
    }
    got = {c["customer_id"]: values_of_dict(c) for c in listing["results"]}
    assert got and got == {customer_id: stored[customer_id] for customer_id in got}

    customer_id = world.customer_ids[5]
    a = SegmentAssignment.unscoped.get(run_id=world.run_id, customer__external_id=customer_id)
    body = client.get(f"/api/v1/customers/{customer_id}/").json()
    assert values_of_dict(body["segment"]) == values_of(a)
    assert body["segment"]["horizon_days"] == (HORIZON_DAYS if value_state == "estimated" else None)
    assert values_of_dict(body["segment_history"][0]) == values_of(a)


def test_predict_by_customer_id_returns_stored_values_and_made_up_figures_give_no_model(
    api, world, value_state
):
    client = api("marketing")
    for customer_id in world.customer_ids[:25]:
        a = SegmentAssignment.unscoped.get(run_id=world.run_id, customer__external_id=customer_id)
        body = client.post(PREDICT, {"customer_id": customer_id}, content_type="application/json")
        assert values_of_dict(body.json()) == values_of(a)
    a = SegmentAssignment.unscoped.get(run_id=world.run_id, customer__external_id=customer_id)
    features = {f: getattr(a, f) for f in SegmentAssignment.FEATURE_FIELDS}
    by_features = client.post(PREDICT, {"features": features}, content_type="application/json")
    assert by_features.json()["source"] == "predicted"
    assert values_of_dict(by_features.json()) == dict.fromkeys(VALUE_FIELDS)

    batch = client.post(
        PREDICT,
        {"customers": [{"customer_id": customer_id}, {"features": features}]},
        content_type="application/json",
    ).json()
    assert [values_of_dict(r) for r in batch["results"]] == [
        values_of(a),
        dict.fromkeys(VALUE_FIELDS),
    ]


def test_a_member_not_estimated_predicts_nulls_beside_estimated_ones(api, world):
    run = SegmentationRun.unscoped.get(pk=world.run_id)
    store_value_ahead(run)
    forget_published_model()
    try:
        not_estimated = SegmentAssignment.unscoped.filter(run=run, p_alive__isnull=True).first()
        customer_id = not_estimated.customer.external_id
        body = api("marketing").post(
            PREDICT, {"customer_id": customer_id}, content_type="application/json"
        )
        assert body.status_code == 200
        assert values_of_dict(body.json()) == dict.fromkeys(VALUE_FIELDS)
    finally:
        forget_published_model()


def test_features_of_a_known_customer_predict_their_stored_value_ahead(api, world):
    """The world's run estimated value ahead itself: a customer's features sent as raw
    features give back the figures stored for them, where their orders are their purchase
    days (two orders on one day make one purchase day in a run)."""
    from clustering.aggregation import customer_aggregates

    forget_published_model()
    run = SegmentationRun.unscoped.get(pk=world.run_id)
    assert run.value_ahead.get("purchase_model"), run.notes
    table = customer_aggregates(workspace=world.workspace, reference_date=run.reference_date).table
    table = table.set_index(table["customer_id"].astype(str))
    one_order_a_day = set(table.index[table["invoices"] == table["purchase_days"]])
    assignments = list(
        SegmentAssignment.unscoped.filter(run=run, p_alive__isnull=False)
        .select_related("customer")
        .order_by("customer__external_id")
    )
    exact = [a for a in assignments if a.customer.external_id in one_order_a_day][:40]
    several_a_day = [a for a in assignments if a.customer.external_id not in one_order_a_day]
    assert len(exact) == 40 and several_a_day

    def features(a, **changes):
        return {f: getattr(a, f) for f in SegmentAssignment.FEATURE_FIELDS} | changes

    client = api("marketing")
    batch = client.post(
        PREDICT,
        {"customers": [{"features": features(a)} for a in exact]},
        content_type="application/json",
    ).json()
    for a, result in zip(exact, batch["results"], strict=True):
        assert result["source"] == "predicted"
        assert values_of_dict(result) == pytest.approx(values_of(a), rel=1e-6), a.customer_id
    # two orders on a day: more purchases than the run counted, so more expected ahead
    a = several_a_day[0]
    one = client.post(PREDICT, {"features": features(a)}, content_type="application/json").json()
    assert one["expected_purchases"] > a.expected_purchases

    # no order: no history to model; a first purchase after the last is refused
    never = client.post(
        PREDICT, {"features": features(exact[0], frequency=0)}, content_type="application/json"
    )
    assert never.json()["source"] == "predicted"
    assert values_of_dict(never.json()) == dict.fromkeys(VALUE_FIELDS)
    backwards = features(exact[0], recency_days=400, tenure_days=100)
    refused = client.post(PREDICT, {"features": backwards}, content_type="application/json")
    assert refused.status_code == 400
    assert "recency_days" in refused.json()["fields"]["features"]
