"""Payloads of the runs, segments, customers and transactions endpoints."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from clustering.models import Segment, SegmentAssignment, SegmentationRun
from clustering.report.data import run_report_data
from customers.models import Customer, ImportRecord, TransactionLine

pytestmark = pytest.mark.django_db
JSON = "application/json"


# ------------------------------------------------------------------------------ runs
def test_starting_a_run_queues_it(api, world):
    response = api("manager").post(
        "/api/v1/runs/",
        {"name": "API run", "algorithms": ["kmeans"], "k_max": 4},
        content_type=JSON,
    )
    assert response.status_code == 201, response.content
    run = SegmentationRun.unscoped.get(name="API run")
    body = response.json()
    assert response["Location"].endswith(f"/api/v1/runs/{run.pk}/")
    assert body["id"] == run.pk
    assert body["status"] == "queued"
    assert body["created_by"] == "api-manager"
    assert body["params"]["algorithms"] == ["kmeans"]
    assert body["params"]["k_max"] == 4
    assert body["is_published"] is False and body["published_by"] is None


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"k_min": 5, "k_max": 3}, {"k_max": ["must be an integer >= k_min"]}),
        ({"algorithms": ["kmeans", "kmeans"]}, {"algorithms": ["listed more than once"]}),
        ({"shoe_size": 3}, {"shoe_size": ["is not a parameter a run accepts"]}),
        ({"k_max": "many"}, {"k_max": ["A valid integer is required."]}),
        ({"algorithms": ["magic"]}, {"algorithms": {"0": ['"magic" is not a valid choice.']}}),
    ],
)
def test_invalid_run_parameters_are_400_with_the_field(api, body, fields):
    before = SegmentationRun.unscoped.count()
    response = api("manager").post("/api/v1/runs/", body, content_type=JSON)
    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "code": "invalid",
        "detail": "Some fields are not valid; see fields.",
        "fields": fields,
    }
    assert SegmentationRun.unscoped.count() == before


def test_run_checks_that_need_the_data_are_400_too(api):
    response = api("manager").post(
        "/api/v1/runs/", {"reference_date": "1990-01-01"}, content_type=JSON
    )
    assert response.status_code == 400
    (message,) = response.json()["fields"]["reference_date"]
    assert message.startswith("must be after the first transaction")


def test_status_owner_and_publication_fields_are_read_only(api, world):
    response = api("manager").post(
        "/api/v1/runs/",
        {"algorithms": ["kmeans"], "status": "succeeded"},
        content_type=JSON,
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"status": ["is not a parameter a run accepts"]}


def test_cancel_a_queued_run_then_again_is_409(api, world):
    client = api("manager")
    run_id = client.post("/api/v1/runs/", {"k_max": 3}, content_type=JSON).json()["id"]
    response = client.post(f"/api/v1/runs/{run_id}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/runs/{run_id}/cancel/")
    assert again.status_code == 409
    assert again.json() == {
        "status": 409,
        "code": "run_state",
        "detail": "This run has already cancelled.",
        "fields": {},
    }
    assert client.post(f"/api/v1/runs/{run_id}/publish/").status_code == 409
    assert client.post("/api/v1/runs/999999/publish/").status_code == 404


def test_run_detail_list_candidates_and_report(api, world):
    client = api("manager")
    run = SegmentationRun.unscoped.get(pk=world.run_id)
    detail = client.get(f"/api/v1/runs/{run.pk}/").json()
    assert detail["status"] == "succeeded" and detail["progress"] == 100
    assert detail["is_published"] is True and detail["published_by"] == "api-manager"
    assert detail["chosen_algorithm"] == "kmeans"
    listing = client.get("/api/v1/runs/").json()
    assert listing["count"] == 1 and listing["results"][0] == detail
    candidates = client.get(f"/api/v1/runs/{run.pk}/candidates/").json()
    assert [c["k"] for c in candidates] == [2, 3, 4, 5]
    assert sum(c["is_chosen"] for c in candidates) == 1
    report = client.get(f"/api/v1/runs/{run.pk}/report/")
    assert report.status_code == 200
    stored = json.loads(json.dumps(run_report_data(run), cls=DjangoJSONEncoder))
    assert report.json() == {**stored, "currency": "GBP"}  # the shop's: amounts carry it
    assert client.get("/api/v1/runs/999999/report/").status_code == 404


# ------------------------------------------------------------------------------ segments
def test_published_segments(api, world):
    run = SegmentationRun.unscoped.get(pk=world.run_id)
    body = api("marketing").get("/api/v1/segments/").json()
    assert body["run_id"] == run.pk
    # an unnamed run is called as the pages and the customers' history call it
    assert not run.name and body["run_name"] == run.display_name
    assert body["run_name"].startswith("Segmentation as of ")
    segments = list(Segment.unscoped.filter(run=run).order_by("number"))
    assert [s["number"] for s in body["segments"]] == [s.number for s in segments]
    first = body["segments"][0]
    assert first["name"] == segments[0].name
    assert first["action"] == segments[0].action
    assert first["size"] == segments[0].size
    assert set(first) == {
        "number", "name", "size", "share_customers", "share_revenue", "medians", "means",
        "lift", "distinguishing", "rule", "rule_accuracy", "rule_precision", "rule_recall",
        "action", "rationale", "top_country", "value", "engagement", "activity",
        "activity_shares", "activity_evidence", "why", "conditions",
        "expected_value", "share_expected_value", "value_per_customer", "median_p_alive",
        "currency",
    }  # fmt: skip
    assert body["currency"] == first["currency"] == "GBP"
    assert api("marketing").get("/api/v1/segments/99/").status_code == 404


def test_members_are_cursor_paginated_and_complete(api, world):
    segment = Segment.unscoped.filter(run_id=world.run_id).order_by("-size").first()
    client = api("marketing")
    url = f"/api/v1/segments/{segment.number}/members/?page_size=7"
    seen = []
    while url:
        page = client.get(url).json()
        seen += [m["customer_id"] for m in page["results"]]
        url = page["next"]
    expected = list(
        SegmentAssignment.unscoped.filter(segment=segment)
        .order_by("customer_id")  # the run's (run, customer) key's order
        .values_list("customer__external_id", flat=True)
    )
    assert seen == expected
    first = client.get(f"/api/v1/segments/{segment.number}/members/?page_size=1").json()
    a = SegmentAssignment.unscoped.select_related("customer").get(
        segment=segment, customer__external_id=expected[0]
    )
    (row,) = first["results"]
    words = {
        k: row.pop(k) for k in ("fit", "runner_up", "activity", "activity_by", "activity_warning")
    }
    assert words["activity_by"] in ("days", "p_alive", None)
    assert words["fit"] and row.pop("contact") is None  # marketing: no personal data
    assert words["runner_up"] in set(
        Segment.unscoped.filter(run_id=world.run_id).values_list("name", flat=True)
    )
    assert first["results"] == [
        {
            "customer_id": a.customer.external_id,
            "country": a.customer.country,
            "confidence": a.confidence,
            "rfm_segment": a.rfm_segment,
            **{f: getattr(a, f) for f in SegmentAssignment.FEATURE_FIELDS},
            "p_alive": a.p_alive,
            "expected_purchases": a.expected_purchases,
            "expected_value": a.expected_value,
            "next_purchase_days": a.next_purchase_days,
            "currency": "GBP",
        }
    ]


def test_members_as_csv(api, world):
    segment = Segment.unscoped.filter(run_id=world.run_id).order_by("number").first()
    response = api("marketing").get(f"/api/v1/segments/{segment.number}/members.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["Customer id", "Country", "Segment", "Recommended action"]
    assert len(rows) - 1 == segment.size


def test_segments_without_a_published_run(api):
    SegmentationRun.unscoped.update(is_published=False)
    for path in ("/api/v1/segments/", "/api/v1/segments/0/", "/api/v1/segments/0/members/"):
        response = api("marketing").get(path)
        assert response.status_code == 404
        assert response.json()["code"] == "no_published_run"


# ------------------------------------------------------------------------------ customers
def test_customer_list_filters_and_search(api, world):
    client = api("marketing")
    listing = client.get("/api/v1/customers/").json()
    assert listing["count"] == Customer.unscoped.count()
    first = listing["results"][0]
    a = SegmentAssignment.unscoped.select_related("segment", "customer").get(
        run_id=world.run_id, customer__external_id=first["customer_id"]
    )
    assert first["segment_number"] == first["segment_id"] == a.segment.number
    assert first["segment_name"] == a.segment.name

    number = a.segment.number
    in_segment = client.get(f"/api/v1/customers/?segment={number}&page_size=1000").json()
    assert in_segment["count"] == a.segment.size
    assert {c["segment_number"] for c in in_segment["results"]} == {number}
    assert all(c["segment_id"] == c["segment_number"] for c in in_segment["results"])

    country = a.customer.country
    by_country = client.get("/api/v1/customers/", {"country": country.upper()}).json()
    assert by_country["count"] == Customer.unscoped.filter(country=country).count()

    prefix = first["customer_id"][:2]
    found = client.get("/api/v1/customers/", {"search": prefix}).json()
    assert found["count"] == Customer.unscoped.filter(external_id__startswith=prefix).count()


def test_customer_detail_has_features_segment_and_history(api, world):
    customer_id = world.customer_ids[3]
    a = SegmentAssignment.unscoped.select_related("segment", "run", "customer").get(
        run_id=world.run_id, customer__external_id=customer_id
    )
    response = api("marketing").get(f"/api/v1/customers/{customer_id}/")
    assert response.status_code == 200
    body = response.json()
    assert body["customer_id"] == customer_id
    assert body["segment"] == {
        "run_id": world.run_id,
        "segment_number": a.segment.number,
        "segment_id": a.segment.number,  # deprecated, the same number
        "segment_name": a.segment.name,
        "action": a.segment.action,
        "confidence": a.confidence,
        "rfm_segment": a.rfm_segment,
        "fit": body["segment"]["fit"],  # in words: tests/api/test_currency.py
        "runner_up": body["segment"]["runner_up"],
        "activity": body["segment"]["activity"],
        "activity_by": body["segment"]["activity_by"],  # judged: test_member_activity_evidence
        "activity_warning": body["segment"]["activity_warning"],
        "horizon_days": a.run.value_ahead.get("horizon_days"),
        "p_alive": a.p_alive,
        "expected_purchases": a.expected_purchases,
        "expected_value": a.expected_value,
        "next_purchase_days": a.next_purchase_days,
    }
    assert body["features"] == {f: getattr(a, f) for f in SegmentAssignment.FEATURE_FIELDS}
    assert [h["run_id"] for h in body["segment_history"]] == [world.run_id]
    for entry in body["segment_history"] + body["history"]:
        assert entry["segment_number"] == entry["segment_id"] == a.segment.number
    assert body["segment_history"][0]["is_published"] is True
    assert body["segment_history"][0]["run_name"] == body["history"][0]["run_name"]
    assert body["segment_history"][0]["run_name"].startswith("Segmentation as of ")
    assert api("marketing").get("/api/v1/customers/nobody-here/").status_code == 404


# ------------------------------------------------------------------------------ transactions
LINES = [
    {
        "customer_id": "api-new-1",
        "invoice": "910001",
        "timestamp": "2024-01-02T10:00:00Z",
        "quantity": 2,
        "unit_price": 3.5,
        "product_code": "85123A",
        "country": "France",
    },
    {
        "customer_id": "api-new-1",
        "invoice": "C910002",
        "timestamp": "2024-01-03T11:30:00+01:00",
        "quantity": -1,
        "amount": -3.5,
        "product_code": "85123A",
        "country": "France",
    },
    {
        "customer_id": "api-new-2",
        "invoice": "910003",
        "timestamp": "2024-01-04 09:15:00",
        "quantity": 1,
        "unit_price": 15,
        "product_code": "POST",
    },
]


def test_bulk_transactions_are_stored_like_file_lines(api, world):
    client = api("manager")
    response = client.post("/api/v1/transactions/", {"lines": LINES}, content_type=JSON)
    assert response.status_code == 201, response.content
    record = ImportRecord.unscoped.get(file_name="API: 3 lines")
    assert response.json() == {
        "import_id": record.pk,
        "lines_received": 3,
        "lines_imported": 3,
        "lines_duplicate": 0,
        "customers_created": 2,
        "lines_skipped": 0,
    }
    stored = TransactionLine.unscoped.filter(import_record=record).order_by("invoice")
    assert [(s.invoice, s.is_return, s.is_non_product, float(s.amount)) for s in stored] == [
        ("910001", False, False, 7.0),
        ("910003", False, True, 15.0),
        ("C910002", True, False, -3.5),
    ]
    assert Customer.unscoped.get(external_id="api-new-1").country == "France"

    again = client.post("/api/v1/transactions/", {"lines": LINES}, content_type=JSON).json()
    assert (again["lines_imported"], again["lines_duplicate"]) == (0, 3)

    listing = client.get("/api/v1/transactions/", {"customer": "api-new-1"}).json()
    assert [line["invoice"] for line in listing["results"]] == ["C910002", "910001"]
    assert listing["results"][1]["amount"] == "7.0000"
    assert listing["results"][1]["timestamp"].startswith("2024-01-02T10:00:00")


def test_transaction_listing_pages_through_every_line_with_the_line_hash_as_id(api, world):
    client = api("manager")
    response = client.post("/api/v1/transactions/", {"lines": LINES}, content_type=JSON)
    assert response.status_code == 201
    expected = list(
        TransactionLine.unscoped.order_by("-customer_id", "-timestamp", "-line_hash").values_list(
            "customer__external_id", "line_hash", "timestamp"
        )
    )
    assert len(expected) > 500  # the world's lines too
    seen, page = [], client.get("/api/v1/transactions/", {"page_size": 97}).json()
    while True:
        seen += [(line["customer_id"], line["id"]) for line in page["results"]]
        if not page["next"]:
            break
        page = client.get(page["next"]).json()
    # Every line once, in the key's order backwards, identified by its content's hash.
    assert seen == [(customer, str(line_hash)) for customer, line_hash, _ in expected]

    # One customer's lines: newest first, through pages too.
    listing = client.get("/api/v1/transactions/", {"customer": "api-new-1", "page_size": 1})
    first = listing.json()
    second = client.get(first["next"]).json()
    stamps = [datetime.fromisoformat(p["results"][0]["timestamp"]) for p in (first, second)]
    assert stamps[0] > stamps[1]
    assert second["next"] is None


def test_bad_rows_are_all_listed_and_nothing_is_stored(api):
    lines_before = TransactionLine.unscoped.count()
    bad = [
        LINES[0],
        {**LINES[0], "quantity": "two"},
        {**LINES[0], "timestamp": "yesterday"},
        {**LINES[0], "quantity": 1e12},
        {k: v for k, v in LINES[0].items() if k != "unit_price"},
        {**LINES[0], "customer_id": "x" * 65},
        "not a line",
        {**LINES[0], "timestamp": "2540-04-14T23:58:39Z"},
    ]
    response = api("manager").post("/api/v1/transactions/", {"lines": bad}, content_type=JSON)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_rows"
    assert body["detail"] == "7 of 8 lines are not valid; nothing was stored."
    assert body["rows"] == [
        {"index": 1, "field": "quantity", "message": "A valid number is required."},
        {
            "index": 2,
            "field": "timestamp",
            "message": "Datetime has wrong format. Use one of these formats instead: "
            "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
        },
        {"index": 3, "field": "quantity", "message": "Number out of range."},
        {
            "index": 4,
            "field": "amount",
            "message": "Missing value: give a unit price or a line amount.",
        },
        {
            "index": 5,
            "field": "customer_id",
            "message": "Ensure this field has no more than 64 characters.",
        },
        {
            "index": 6,
            "field": "non_field_errors",
            "message": "Invalid data. Expected a dictionary, but got str.",
        },
        {
            "index": 7,
            "field": "timestamp",
            "message": "Dated after the upload's time plus 2 days: a sale cannot postdate its "
            "upload.",
        },
    ]
    assert TransactionLine.unscoped.count() == lines_before


def test_rows_failing_the_import_rules_are_listed(api):
    bad = [
        LINES[0],
        {**LINES[0], "quantity": 1e12},
        {k: v for k, v in LINES[0].items() if k != "unit_price"},
    ]
    response = api("manager").post("/api/v1/transactions/", {"lines": bad}, content_type=JSON)
    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "code": "invalid_rows",
        "detail": "2 of 3 lines are not valid; nothing was stored.",
        "fields": {},
        "rows": [
            {"index": 1, "field": "quantity", "message": "Number out of range."},
            {
                "index": 2,
                "field": "amount",
                "message": "Missing value: give a unit price or a line amount.",
            },
        ],
    }


def test_too_many_lines_is_a_400(api):
    response = api("manager").post(
        "/api/v1/transactions/", {"lines": [LINES[0]] * 5001}, content_type=JSON
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "lines": {"non_field_errors": ["Ensure this field has no more than 5000 elements."]}
    }
