"""A publication's movements are computed on a worker once it commits (warm_movements), so
that the movements and compare pages find them cached."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clustering import tasks
from clustering.models import Publication
from clustering.movements import movements_warm
from clustering.services import run_publish
from customers.models import Customer
from tests.clustering.test_movements_sql import _run, _user


@pytest.fixture
def three_runs(shop):
    rng = np.random.default_rng(7)
    Customer.objects.bulk_create(
        Customer(workspace=shop, external_id=f"C{i:04d}", country="UK") for i in range(60)
    )
    customers = list(Customer.objects.in_workspace(shop).order_by("pk"))
    user = _user(shop)
    return [
        _run(shop, user, rng, customers[i * 5 : 50 + i * 5], name=f"run {i}", k=4, shift=i)
        for i in range(3)
    ]


def _computes(get) -> bool:
    """Whether `get` counted two runs' movements (rather than reading them from the cache)."""
    with CaptureQueriesContext(connection) as queries:
        get()
    return any(
        "segmentassignment" in q["sql"] and "UNION ALL" in q["sql"]
        for q in queries.captured_queries
    )


def test_publishing_queues_the_warm_up_once_committed(
    shop, three_runs, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(tasks.warm_movements, "delay", lambda *args: queued.append(args))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run_publish(workspace=shop, run_id=three_runs[0].pk, user=None)
    assert queued == []  # not before the publication commits
    for callback in callbacks:
        callback()

    publication = Publication.objects.in_workspace(shop).get()
    assert queued == [(shop.pk, publication.pk)]


def test_a_broker_outage_loses_the_warm_up_not_the_publication(
    shop, three_runs, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    def unreachable(*args):
        raise OperationalError("broker down")

    monkeypatch.setattr(tasks.warm_movements, "delay", unreachable)
    with django_capture_on_commit_callbacks(execute=True):
        run = run_publish(workspace=shop, run_id=three_runs[0].pk, user=None)

    run.refresh_from_db()
    assert run.is_published and Publication.objects.in_workspace(shop).count() == 1


def test_after_the_warm_up_the_movements_and_compare_pages_compute_nothing(
    shop, three_runs, client_for
):
    first, second, third = three_runs
    run_publish(workspace=shop, run_id=first.pk, user=None)
    run_publish(workspace=shop, run_id=third.pk, user=None)
    latest = Publication.objects.in_workspace(shop).first()
    client = client_for("manager")

    assert tasks.warm_movements(shop.pk, latest.pk) == "warmed publication, compare"

    movements = client.get(reverse("movements"))
    assert movements.status_code == 200
    assert not _computes(lambda: client.get(reverse("movements")))
    # the compare page's default: the newest run (third) against the one before (second)
    compare = client.get(reverse("run-compare"))
    assert compare.status_code == 200
    assert compare.context["form"]["before"].value() == str(second.pk)
    assert not _computes(lambda: client.get(reverse("run-compare")))
    # another pair than those warmed is computed when asked
    other = reverse("run-compare") + f"?before={first.pk}&after={second.pk}"
    assert _computes(lambda: client.get(other))


def test_the_warm_up_is_idempotent(shop, three_runs):
    run_publish(workspace=shop, run_id=three_runs[0].pk, user=None)
    run_publish(workspace=shop, run_id=three_runs[1].pk, user=None)
    latest = Publication.objects.in_workspace(shop).first()

    assert _computes(lambda: movements_warm(workspace_id=shop.pk, publication_id=latest.pk))
    assert not _computes(lambda: movements_warm(workspace_id=shop.pk, publication_id=latest.pk))


def test_the_warm_up_of_a_publication_or_workspace_gone_does_nothing(shop, other_shop, three_runs):
    run_publish(workspace=shop, run_id=three_runs[0].pk, user=None)
    publication = Publication.objects.in_workspace(shop).get()

    assert movements_warm(workspace_id=shop.pk, publication_id=publication.pk + 1) == (
        "no such publication"
    )
    # another workspace's id does not reach this workspace's publication
    assert movements_warm(workspace_id=other_shop.pk, publication_id=publication.pk) == (
        "no such publication"
    )
    assert movements_warm(workspace_id=10**9, publication_id=publication.pk) == (
        "no such workspace"
    )
    # a first publication has no movements; the compare page's default pair is still warmed
    assert movements_warm(workspace_id=shop.pk, publication_id=publication.pk) == ("warmed compare")


def test_a_run_that_succeeds_queues_the_compare_warm_up_once_committed(
    shop, monkeypatch, django_capture_on_commit_callbacks
):
    from tests.clustering.factories import (
        FAST_PARAMS,
        executed_run,
        load_transactions,
        synthetic_lines,
    )

    load_transactions(synthetic_lines(120, seed=5), workspace=shop)
    queued = []
    monkeypatch.setattr(tasks.warm_compare, "delay", lambda *args: queued.append(args))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        executed_run(shop, _user(shop), FAST_PARAMS)
    assert queued == []  # not before the run's results commit
    for callback in callbacks:
        callback()
    assert (shop.pk,) in queued


def test_after_the_compare_warm_up_the_compare_page_computes_nothing(shop, three_runs, client_for):
    first, second, third = three_runs
    client = client_for("manager")

    assert tasks.warm_compare(shop.pk) == "warmed compare"

    compare = client.get(reverse("run-compare"))
    assert compare.status_code == 200
    assert compare.context["form"]["before"].value() == str(second.pk)
    assert not _computes(lambda: client.get(reverse("run-compare")))
    assert tasks.warm_compare(10**9) == "no such workspace"
