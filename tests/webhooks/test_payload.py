"""What a segmentation.published delivery says: the workspace, the publication, the run's
segments, the movements since the publication before (null for the first), and where the
members are read, as absolute API addresses."""

from __future__ import annotations

import pytest

from clustering.models import Publication, Segment, SegmentationRun
from clustering.services import run_publish
from tests.clustering.factories import executed_run, load_transactions, synthetic_lines
from webhooks.models import Delivery, Endpoint
from webhooks.payloads import delivery_payload
from webhooks.services import deliveries_for_publication, delivery_send_test

PARAMS = {"algorithms": ["kmeans"], "k_min": 3, "k_max": 3, "seed": 7}


@pytest.fixture
def published_twice(shop, make_user, settings):
    settings.SITE_URL = "https://segments.example.com/"
    manager = make_user("manager", username="maria", workspace=shop)
    lines = synthetic_lines(150, seed=4)
    newcomers = sorted(set(lines["customer_id"]))[-10:]
    load_transactions(lines[~lines["customer_id"].isin(newcomers)], workspace=shop, name="a.csv")
    first = executed_run(shop, manager, PARAMS, name="before")
    run_publish(workspace=shop, run_id=first.pk, user=manager)
    load_transactions(lines[lines["customer_id"].isin(newcomers)], workspace=shop, name="b.csv")
    second = executed_run(shop, manager, {**PARAMS, "seed": 11}, name="after")
    run_publish(workspace=shop, run_id=second.pk, user=None, source="schedule")
    endpoint = Endpoint.objects.create(
        workspace=shop, url="https://93.184.215.14/in", created_by=manager
    )
    return first, second, endpoint


def _delivery(shop, endpoint, publication) -> Delivery:
    # The signal is sent on commit, which a test transaction never does: call its receiver's
    # service directly.
    (delivery,) = deliveries_for_publication(workspace=shop, publication=publication)
    assert delivery.endpoint == endpoint
    return delivery


def test_a_first_publication_is_announced_with_no_movements(shop, published_twice):
    first, _second, endpoint = published_twice
    publication = Publication.objects.in_workspace(shop).get(run=first)
    payload = delivery_payload(_delivery(shop, endpoint, publication))
    assert payload["event"] == "segmentation.published"
    assert payload["workspace"] == {"slug": "shop", "name": "Test shop", "currency": "GBP"}
    assert payload["publication"] == {
        "id": publication.pk,
        "run_id": first.pk,
        "run_name": "before",
        "published_at": publication.published_at.isoformat(),
        "source": "manager",
        "published_by": "maria",
    }
    assert payload["movements"] is None
    segments = list(
        Segment.objects.in_workspace(shop)
        .filter(run=first)
        .order_by("number")
        .values("number", "name", "size", "share_customers", "share_revenue")
    )
    assert payload["run"] == {
        "reference_date": first.reference_date.isoformat(),
        "customers": first.n_customers,
        "segments": segments,
    }
    assert sum(s["size"] for s in payload["run"]["segments"]) == first.n_customers


def test_a_later_publication_carries_the_movements_and_the_api_links(shop, published_twice):
    first, second, endpoint = published_twice
    publication = Publication.objects.in_workspace(shop).get(run=second)
    payload = delivery_payload(_delivery(shop, endpoint, publication))
    assert payload["publication"]["source"] == "schedule"
    assert payload["publication"]["published_by"] is None
    movements = payload["movements"]
    assert movements["previous_run_id"] == first.pk
    assert (movements["in_both"], movements["new"], movements["gone"]) == (first.n_customers, 10, 0)
    flows = movements["flows"]
    assert sum(f["customers"] for f in flows) == first.n_customers + 10
    assert [f["customers"] for f in flows] == sorted((f["customers"] for f in flows), reverse=True)
    new_flows = [f for f in flows if f["from"] is None]
    assert sum(f["customers"] for f in new_flows) == 10
    names = dict(
        Segment.objects.in_workspace(shop).filter(run=second).values_list("number", "name")
    )
    assert all(f["to"]["name"] == names[f["to"]["number"]] for f in flows if f["to"])
    links = payload["links"]
    assert links["segments"] == "https://segments.example.com/api/v1/segments/"
    assert links["run"] == f"https://segments.example.com/api/v1/runs/{second.pk}/"
    assert [m["members"] for m in links["segment_members"]] == [
        f"https://segments.example.com/api/v1/segments/{n}/members/" for n in sorted(names)
    ]


def test_each_publication_is_announced_once_per_enabled_endpoint(shop, published_twice):
    _first, second, endpoint = published_twice
    Endpoint.objects.create(workspace=shop, url="https://off.example.com/", enabled=False)
    publication = Publication.objects.in_workspace(shop).get(run=second)
    assert len(deliveries_for_publication(workspace=shop, publication=publication)) == 1
    assert deliveries_for_publication(workspace=shop, publication=publication) == []
    assert Delivery.objects.in_workspace(shop).filter(publication=publication).count() == 1


def test_a_test_event_says_so_and_carries_the_latest_publication(shop, published_twice):
    _first, second, endpoint = published_twice
    delivery = delivery_send_test(workspace=shop, endpoint_id=endpoint.pk, user=None)
    payload = delivery_payload(delivery)
    assert (payload["event"], payload["test"]) == ("webhook.test", True)
    assert payload["publication"]["run_id"] == second.pk
    assert payload["id"] == str(delivery.idempotency_key)


def test_a_test_event_before_any_publication_says_there_is_none(shop, settings):
    endpoint = Endpoint.objects.create(workspace=shop, url="https://93.184.215.14/in")
    payload = delivery_payload(
        delivery_send_test(workspace=shop, endpoint_id=endpoint.pk, user=None)
    )
    assert payload["test"] is True
    assert (payload["publication"], payload["run"], payload["movements"]) == (None, None, None)


def test_an_unnamed_run_is_announced_by_the_name_the_pages_give_it(shop, published_twice):
    first, _second, endpoint = published_twice
    SegmentationRun.unscoped.filter(pk=first.pk).update(name="")
    first.refresh_from_db()
    publication = Publication.objects.in_workspace(shop).get(run=first)
    payload = delivery_payload(_delivery(shop, endpoint, publication))
    assert payload["publication"]["run_name"] == first.display_name != f"Run {first.pk}"
    assert payload["publication"]["run_name"].startswith("Segmentation as of ")
