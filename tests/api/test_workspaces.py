"""The API in two workspaces whose customer ids collide: a token reads, publishes and
predicts only in its own workspace, and hears nothing of the other."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from clustering.models import Segment, SegmentAssignment, SegmentationRun
from customers.models import Customer

pytestmark = pytest.mark.django_db

ELSEWHERE = "Elsewhere"  # in every name of the other workspace's segments and run
ONLY_ELSEWHERE = "only-elsewhere-1"  # a customer id the other workspace alone has


@pytest.fixture
def elsewhere(world, other_shop, make_user):
    """other_shop with the shop's first customer ids, a published run (a copy of the shop's,
    renamed) that puts each of them in ANOTHER segment than the shop's run, and a token."""
    from accounts.services import api_token_create

    manager = make_user("manager", username="elsewhere-manager", workspace=other_shop)
    shop_run = SegmentationRun.unscoped.get(pk=world.run_id)
    segments = list(shop_run.segments.order_by("number"))
    run = SegmentationRun.unscoped.get(pk=world.run_id)
    run.pk = None
    run.workspace = other_shop
    run.name = f"{ELSEWHERE} review"
    run.created_by = run.published_by = manager
    run.published_at = timezone.now()
    run.save()
    copies = {}
    for segment in segments:
        number = segment.number
        segment.pk, segment.run, segment.name = None, run, f"{ELSEWHERE} {segment.name}"
        copies[number] = segment
    Segment.unscoped.bulk_create(copies.values())
    ids = [*world.customer_ids[:20], ONLY_ELSEWHERE]
    customers = Customer.unscoped.bulk_create(
        Customer(workspace=other_shop, external_id=i, country="Elsewhere") for i in ids
    )
    customers = {c.external_id: c for c in Customer.objects.in_workspace(other_shop)}
    in_shop = dict(shop_run.assignments.values_list("customer__external_id", "segment__number"))
    numbers = sorted(copies)
    theirs = {}
    for customer_id in ids:
        mine = in_shop.get(customer_id, numbers[0])
        theirs[customer_id] = numbers[(numbers.index(mine) + 1) % len(numbers)]
    SegmentAssignment.unscoped.bulk_create(
        SegmentAssignment(
            run=run,
            customer=customers[customer_id],
            segment=copies[number],
            confidence=0.5,
        )
        for customer_id, number in theirs.items()
    )
    _, secret = api_token_create(user=manager, workspace=other_shop, name="t", read_only=False)
    client = Client(headers={"Authorization": f"Token {secret}"})
    return run, in_shop, theirs, client


def predict(client, body):
    return client.post("/api/v1/predict/", body, content_type="application/json")


def test_predict_by_customer_id_answers_from_the_tokens_workspace(api, world, elsewhere):
    run, in_shop, theirs, their_client = elsewhere
    mine = api("marketing")
    # Alternating requests: each workspace's cached predictor serves only its own requests.
    for customer_id in world.customer_ids[:20]:
        ours = predict(mine, {"customer_id": customer_id}).json()
        other = predict(their_client, {"customer_id": customer_id}).json()
        assert (ours["run_id"], ours["segment_number"]) == (world.run_id, in_shop[customer_id])
        assert ELSEWHERE not in ours["segment_name"]
        assert (other["run_id"], other["segment_number"]) == (run.pk, theirs[customer_id])
        assert other["segment_name"].startswith(ELSEWHERE)
    batch = mine.post(
        "/api/v1/predict/",
        {"customers": [{"customer_id": i} for i in world.customer_ids[:5]]},
        content_type="application/json",
    ).json()
    assert batch["run_id"] == world.run_id
    assert [r["segment_number"] for r in batch["results"]] == [
        in_shop[i] for i in world.customer_ids[:5]
    ]


def test_predict_says_nothing_of_another_workspace(api, world, elsewhere):
    run, *_ = elsewhere
    response = predict(api("marketing"), {"customer_id": ONLY_ELSEWHERE})
    assert response.status_code == 404
    assert response.json()["code"] == "customer_not_in_segmentation"
    assert ELSEWHERE not in response.content.decode()


def test_a_token_gets_404_for_another_workspaces_run(api, world, elsewhere):
    run, *_ = elsewhere
    client = api("admin")
    for path in ("", "report/", "candidates/"):
        response = client.get(f"/api/v1/runs/{run.pk}/{path}")
        assert response.status_code == 404, path
        assert ELSEWHERE not in response.content.decode()
    for action in ("cancel", "publish"):
        assert client.post(f"/api/v1/runs/{run.pk}/{action}/").status_code == 404
    run.refresh_from_db()
    assert run.is_published
    listed = {r["id"] for r in client.get("/api/v1/runs/").json()["results"]}
    assert run.pk not in listed and world.run_id in listed


def test_segments_are_the_tokens_workspaces(api, world, elsewhere):
    run, in_shop, theirs, their_client = elsewhere
    ours = api("marketing").get("/api/v1/segments/").json()
    assert ours["run_id"] == world.run_id
    assert not any(ELSEWHERE in s["name"] for s in ours["segments"])
    other = their_client.get("/api/v1/segments/").json()
    assert other["run_id"] == run.pk
    assert all(s["name"].startswith(ELSEWHERE) for s in other["segments"])
    number = theirs[ONLY_ELSEWHERE]
    members = their_client.get(f"/api/v1/segments/{number}/members/").json()["results"]
    assert ONLY_ELSEWHERE in {m["customer_id"] for m in members}
    ours = api("marketing").get(f"/api/v1/segments/{number}/members/?page_size=5000")
    assert ONLY_ELSEWHERE not in {m["customer_id"] for m in ours.json()["results"]}


def test_publishing_in_one_workspace_leaves_the_others_published_run(api, world, elsewhere):
    run, *_ = elsewhere
    shop_run = SegmentationRun.unscoped.get(pk=world.run_id)
    shop_run.pk, shop_run.is_published, shop_run.published_at = None, False, None
    shop_run.save()
    response = api("manager").post(f"/api/v1/runs/{shop_run.pk}/publish/")
    assert response.status_code == 200
    published = SegmentationRun.unscoped.filter(is_published=True)
    assert set(published.values_list("pk", flat=True)) == {shop_run.pk, run.pk}
