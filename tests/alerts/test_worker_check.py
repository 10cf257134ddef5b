"""A publication's alert check through a real worker process: publishing returns at once,
the worker raises the alerts the rules find and mails them, and a duplicated message after
it raises nothing more."""

from __future__ import annotations

import re

import pytest

from alerts.models import Alert, AlertRule, PublicationCheck
from alerts.tasks import check_publication
from clustering.models import WorkerHeartbeat
from clustering.services import run_publish
from clustering.tasks import record_worker_heartbeat
from tests.clustering.factories import executed_run, load_transactions, synthetic_lines
from tests.conftest import require
from tests.worker_process import broker_reachable, celery_worker, purge_queue, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services, pytest.mark.slow]
TWO = {"algorithms": ["kmeans"], "k_min": 2, "k_max": 2, "seed": 7}
FOUR = {"algorithms": ["kmeans"], "k_min": 4, "k_max": 4, "seed": 7}


@pytest.fixture(autouse=True)
def _broker():
    require(broker_reachable(), "the Celery broker (REDIS_URL)")
    purge_queue()


def _done(workspace):
    check = PublicationCheck.objects.in_workspace(workspace).first()
    return check if check is not None and check.is_done else None


def test_a_worker_checks_the_publication_once_and_mails_its_alerts(shop, make_user):
    manager = make_user("manager", workspace=shop)
    rule = AlertRule.objects.create(
        workspace=shop, kind="segment_size_change", threshold=1, recipients="crm@shop.example"
    )
    load_transactions(synthetic_lines(240, seed=4), workspace=shop)
    first = executed_run(shop, manager, TWO, name="two")
    second = executed_run(shop, manager, FOUR, name="four")
    run_publish(workspace=shop, run_id=first.pk, user=manager)

    with celery_worker(name="alerts") as worker:
        run_publish(workspace=shop, run_id=second.pk, user=manager)
        check = wait_for(lambda: _done(shop), timeout=90, what="the publication's check")
        raised = list(Alert.objects.in_workspace(shop).order_by("pk"))
        assert raised, worker.log()[-3000:]
        assert check.alerts_raised == len(raised) and check.rules_checked == 1
        assert check.publication.run_id == second.pk
        assert all(a.rule == rule and a.publication == check.publication for a in raised)
        # Mailed after the check committed: the worker's mail backend (the console's) took
        # each one.
        wait_for(
            lambda: not Alert.objects.in_workspace(shop).filter(mailed_to="").exists(),
            timeout=60,
            what="the alerts' e-mails",
        )
        mailed = Alert.objects.in_workspace(shop).values_list("mailed_to", "mail_error")
        assert set(mailed) == {("crm@shop.example", "")}

        # The same message again (a redelivery): the one worker takes messages in order, so
        # once a heartbeat queued after it is recorded, it has been handled.
        beat = WorkerHeartbeat.objects.get(hostname=worker.nodename)
        check_publication.delay(check.pk)
        record_worker_heartbeat.delay()
        wait_for(
            lambda: WorkerHeartbeat.objects.filter(
                pk=beat.pk, tasks_seen__gt=beat.tasks_seen
            ).exists(),
            timeout=60,
            what="the heartbeat queued after the duplicate",
        )
    assert list(Alert.objects.in_workspace(shop).order_by("pk")) == raised
    answers = re.findall(r"check_publication\[[^\]]+\] succeeded in \S+s: (\d+)", worker.log())
    assert answers == [str(len(raised)), "0"]  # the duplicate was taken and raised nothing
