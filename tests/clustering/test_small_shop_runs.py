"""A shop of fewer than 100 customers (a new shop's first month) is segmented into at most one
segment per ten customers when its run names no "most segments": the form shows and uses that,
the API and the command take it; below 20 customers every way says the shop is too small."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.services import api_token_create
from clustering.models import SegmentationRun
from clustering.services import shop_k_max
from tests import shops
from tests.clustering.factories import load_transactions, synthetic_lines

pytestmark = pytest.mark.django_db


def customers(n: int) -> None:
    load_transactions(synthetic_lines(n, seed=5))


@pytest.fixture
def not_queued(monkeypatch):
    """Runs are created, not sent to a worker."""
    from clustering import tasks

    monkeypatch.setattr(tasks.execute_segmentation_run, "delay", lambda pk: None)


def shown_values(client) -> dict:
    """The run form's values as a browser posts them, nothing changed."""
    form = client.get(reverse("clustering:run-create")).context["form"]
    return {name: form[name].value() for name in form.fields if form[name].value() is not None}


@pytest.mark.parametrize(("n", "k_max"), [(20, 2), (64, 6), (99, 9), (100, None), (19, None)])
def test_the_shops_most_segments_is_one_per_ten_customers_below_the_default(n, k_max):
    customers(n)
    assert shop_k_max(workspace=shops.test_shop()) == k_max


def test_the_form_shows_and_starts_a_small_shops_run(client_for, monkeypatch):
    from clustering import tasks

    monkeypatch.setattr(tasks.execute_segmentation_run, "delay", lambda pk: None)
    customers(64)
    manager = client_for("manager")
    page = manager.get(reverse("clustering:run-create"))
    html = page.content.decode()
    assert "customers allow up to 6 segments" in html
    # empty, the limit shown as its placeholder: left so, it is the shop's to grow
    assert page.context["form"]["k_max"].initial is None
    assert 'placeholder="6"' in html and "a number typed here is kept" in html
    # As a browser posts it: the shown values, nothing changed.
    form = page.context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    response = manager.post(reverse("clustering:run-create"), data)
    assert response.status_code == 302
    run = SegmentationRun.unscoped.get()
    assert run.params["k_max"] == 6 and run.params["k_max_by_shop_size"] is True


@pytest.mark.usefixtures("not_queued")
def test_a_manager_who_types_the_shops_limit_keeps_it(client_for):
    customers(64)
    manager = client_for("manager")
    response = manager.post(reverse("clustering:run-create"), {**shown_values(manager), "k_max": 6})
    assert response.status_code == 302
    run = SegmentationRun.unscoped.get()
    # the same number, but the manager's: a schedule repeats 6, whatever the shop's size
    assert run.params["k_max"] == 6 and "k_max_by_shop_size" not in run.params


@pytest.mark.usefixtures("not_queued")
def test_an_emptied_most_segments_field_takes_the_shops_too(client_for):
    customers(40)
    manager = client_for("manager")
    data = {**shown_values(manager), "k_max": ""}
    assert manager.post(reverse("clustering:run-create"), data).status_code == 302
    assert SegmentationRun.unscoped.get().params["k_max"] == 4


def test_a_large_enough_shop_keeps_the_default_and_says_nothing(client_for):
    customers(120)
    page = client_for("manager").get(reverse("clustering:run-create"))
    assert 'data-role="shop-k-max"' not in page.content.decode()
    assert page.context["form"]["k_max"].initial == 10


def test_the_api_takes_the_shops_most_segments_unless_given(make_user, monkeypatch):
    from django.test import Client

    from clustering import tasks

    monkeypatch.setattr(tasks.execute_segmentation_run, "delay", lambda pk: None)
    customers(50)
    _, secret = api_token_create(
        user=make_user("manager"), workspace=shops.test_shop(), name="t", read_only=False
    )
    api = Client(headers={"Authorization": f"Token {secret}"})
    response = api.post(
        "/api/v1/runs/", {"algorithms": ["kmeans"]}, content_type="application/json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["params"]["k_max"] == 5
    assert SegmentationRun.unscoped.get().params["k_max_by_shop_size"] is True
    # the limit given is the client's own: kept as given
    response = api.post("/api/v1/runs/", {"k_max": 5}, content_type="application/json")
    assert response.status_code == 201
    assert "k_max_by_shop_size" not in SegmentationRun.unscoped.get(pk=response.json()["id"]).params
    # Given, it is the client's: 8 segments need 80 customers.
    response = api.post("/api/v1/runs/", {"k_max": 8}, content_type="application/json")
    assert response.status_code == 400
    assert "50 customers is too few for up to 8 segments" in json.dumps(response.json())
    assert "50 allow up to 5" in json.dumps(response.json())


def test_the_command_takes_the_shops_most_segments(make_user, capsys):
    customers(30)
    make_user("manager", username="cli")
    call_command(
        "segment_customers",
        "--workspace",
        "shop",
        "--user",
        "cli",
        "--algorithms",
        "kmeans",
        "--no-wait",
    )
    run = SegmentationRun.unscoped.get()
    assert run.params["k_max"] == 3 and run.params["k_max_by_shop_size"] is True


def test_a_shop_below_twenty_customers_is_told_it_is_too_small(client_for):
    customers(12)
    manager = client_for("manager")
    response = manager.post(reverse("clustering:run-create"), shown_values(manager))
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "12 customers is too few to segment: a run needs at least 20; import more purchases first."
    ]
    assert not SegmentationRun.unscoped.exists()


def test_a_run_on_the_shops_limit_says_so_among_its_parameters(make_user):
    from clustering.report.words import parameter_view
    from clustering.services import with_shop_k_max
    from tests.clustering.factories import executed_run

    customers(64)
    data, by_shop = with_shop_k_max(workspace=shops.test_shop(), data={"algorithms": ["kmeans"]})
    assert by_shop is True and data["k_max"] == 6
    run = executed_run(shops.test_shop(), make_user("manager"), data, k_max_by_shop_size=True)
    view = parameter_view(run.params)
    assert ("Most segments", "6 (the most this shop's customers allowed)") in view["chosen"]
    assert not any("size" in label.lower() for label, _ in view["fixed"])
    # a k_max chosen below the shop's limit is the manager's, not the shop's
    bigger = executed_run(
        shops.test_shop(), make_user("admin"), {"algorithms": ["kmeans"], "k_max": 5}
    )
    assert "k_max_by_shop_size" not in bigger.params
    assert ("Most segments", "5") in parameter_view(bigger.params)["chosen"]
