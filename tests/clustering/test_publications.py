"""Each publication is recorded (by whom or what, after which), and the apps that react to
a run's life hear of it once it has committed."""

from __future__ import annotations

import pytest

from clustering.models import Publication, SegmentationRun
from clustering.params import params_from_input
from clustering.services import RunError, run_cancel, run_create, run_publish
from clustering.signals import run_finished, segmentation_published
from tests.clustering.factories import executed_run, load_transactions, synthetic_lines

PARAMS = {"algorithms": ["kmeans"], "k_min": 2, "k_max": 3, "seed": 7}


@pytest.fixture
def heard():
    events = []

    def on_finished(sender, run, **kwargs):
        events.append(("finished", run.pk, run.status))

    def on_published(sender, publication, **kwargs):
        events.append(("published", publication.run_id, publication.previous_id))

    run_finished.connect(on_finished, dispatch_uid="test-finished")
    segmentation_published.connect(on_published, dispatch_uid="test-published")
    yield events
    run_finished.disconnect(dispatch_uid="test-finished")
    segmentation_published.disconnect(dispatch_uid="test-published")


@pytest.mark.django_db(transaction=True)
def test_each_publication_is_recorded_after_the_one_before(shop, make_user, heard):
    manager = make_user("manager", workspace=shop)
    load_transactions(synthetic_lines(120, seed=4), workspace=shop)
    first = executed_run(shop, manager, PARAMS, name="first")
    second = executed_run(shop, manager, {**PARAMS, "seed": 8}, name="second")
    assert heard == [("finished", first.pk, "succeeded"), ("finished", second.pk, "succeeded")]

    run_publish(workspace=shop, run_id=first.pk, user=manager)
    run_publish(workspace=shop, run_id=first.pk, user=manager)  # already published: no new one
    run_publish(workspace=shop, run_id=second.pk, user=None, source="schedule", note="guards")

    older, newer = Publication.objects.in_workspace(shop).order_by("published_at")
    assert (older.run_id, older.previous, older.published_by, older.source) == (
        first.pk, None, manager, "manager"
    )  # fmt: skip
    assert (newer.run_id, newer.previous, newer.published_by, newer.source, newer.note) == (
        second.pk, older, None, "schedule", "guards"
    )  # fmt: skip
    assert heard[2:] == [("published", first.pk, None), ("published", second.pk, older.pk)]
    published = SegmentationRun.objects.in_workspace(shop).get(is_published=True)
    assert published.pk == second.pk


@pytest.mark.django_db(transaction=True)
def test_a_cancelled_queued_run_is_heard_as_finished_and_cannot_be_published(
    shop, make_user, heard
):
    manager = make_user("manager", workspace=shop)
    load_transactions(synthetic_lines(120, seed=4), workspace=shop)
    run = run_create(workspace=shop, user=manager, params=params_from_input(PARAMS), enqueue=False)
    run_cancel(workspace=shop, run_id=run.pk, user=manager)
    assert heard == [("finished", run.pk, "cancelled")]
    with pytest.raises(RunError):
        run_publish(workspace=shop, run_id=run.pk, user=manager)
    assert not Publication.objects.in_workspace(shop).exists()
