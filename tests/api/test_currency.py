"""Every API answer that carries amounts names their currency: the workspace's ISO code
(issue 22), on the segments, members, customers, predictions and run reports."""

from __future__ import annotations

import pytest

from clustering.models import Segment
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["GBP", "USD"])
def currency(request, world):
    """The shop's currency, changed for the test (rolled back with it)."""
    Workspace.objects.filter(pk=world.workspace.pk).update(currency=request.param)
    return request.param


def test_every_answer_with_amounts_names_the_workspaces_currency(api, world, currency):
    client = api("manager")
    number = Segment.unscoped.filter(run_id=world.run_id).order_by("number").first().number
    customer_id = world.customer_ids[0]

    segments = client.get("/api/v1/segments/").json()
    assert segments["currency"] == currency
    assert {s["currency"] for s in segments["segments"]} == {currency}
    assert client.get(f"/api/v1/segments/{number}/").json()["currency"] == currency
    members = client.get(f"/api/v1/segments/{number}/members/").json()["results"]
    assert members and {m["currency"] for m in members} == {currency}

    customers = client.get("/api/v1/customers/").json()["results"]
    assert customers and {c["currency"] for c in customers} == {currency}
    assert client.get(f"/api/v1/customers/{customer_id}/").json()["currency"] == currency

    one = client.post("/api/v1/predict/", {"customer_id": customer_id}, "application/json")
    assert one.json()["currency"] == currency
    batch = client.post(
        "/api/v1/predict/",
        {"customers": [{"customer_id": customer_id}, {"customer_id": "nobody"}]},
        "application/json",
    ).json()
    assert batch["currency"] == currency
    assert [r["currency"] for r in batch["results"]] == [currency, currency]

    report = client.get(f"/api/v1/runs/{world.run_id}/report/").json()
    assert report["currency"] == currency


def test_the_members_csv_names_the_currency_in_its_headers(api, world, currency):
    number = Segment.unscoped.filter(run_id=world.run_id).order_by("number").first().number
    response = api("marketing").get(f"/api/v1/segments/{number}/members.csv")
    header = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()[0]
    assert f"Total spend ({currency})" in header
    assert f"Average basket ({currency})" in header
    assert "E-mail" not in header  # a marketing token: no personal data
    response = api("manager").get(f"/api/v1/segments/{number}/members.csv")
    header = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()[0]
    assert header.startswith("Customer id,E-mail,Name,Country")


def test_customer_detail_says_the_fit_and_shows_contacts_only_to_personal_data_roles(api, world):
    from clustering.models import SegmentAssignment
    from customers.models import Customer

    customer_id = world.customer_ids[0]
    a = SegmentAssignment.unscoped.select_related("segment").get(
        run_id=world.run_id, customer__external_id=customer_id
    )
    runner_up = Segment.unscoped.get(run_id=world.run_id, number=a.runner_up_number)
    SegmentAssignment.unscoped.filter(pk=a.pk).update(confidence=0.01)  # K-Means: borderline
    Customer.unscoped.filter(external_id=customer_id).update(email="ann@example.com", name="Ann")
    url = f"/api/v1/customers/{customer_id}/"
    marketing = api("marketing").get(url).json()
    assert marketing["contact"] is None
    assert marketing["segment"]["fit"] == f"borderline: also close to {runner_up.name}"
    assert marketing["segment"]["runner_up"] == runner_up.name
    manager = api("manager").get(url).json()
    assert manager["contact"] == {"email": "ann@example.com", "name": "Ann", "erased_at": None}
