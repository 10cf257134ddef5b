"""Alerts raised by real publications and runs: the receivers connected in
AlertsConfig.ready(), the rules of the workspace only, and an e-mail per alert. A
publication's check is queued for a worker (tests/alerts/test_worker_check.py runs it in one);
here the queued task is run in this process once the publishing has returned."""

from __future__ import annotations

import re
import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from alerts import tasks
from alerts.models import Alert, AlertRule, PublicationCheck
from clustering.models import Publication, Segment, SegmentationRun
from clustering.movements import movements_between
from clustering.params import params_from_input
from clustering.runs.claims import finish
from clustering.services import run_cancel, run_create, run_publish
from tests.clustering.factories import executed_run, load_transactions, synthetic_lines

pytestmark = pytest.mark.django_db

TWO = {"algorithms": ["kmeans"], "k_min": 2, "k_max": 2, "seed": 7}
FOUR = {"algorithms": ["kmeans"], "k_min": 4, "k_max": 4, "seed": 7}
SIZE_SENTENCE = re.compile(
    r"^(?P<name>.+) (grew|shrank) by \d+% \([\d,]+ → [\d,]+ customers\) in the run published "
    r"on \d{1,2} [A-Z][a-z]{2} \d{4}$"
)


def _rule(workspace, kind, **settings):
    return AlertRule.objects.create(workspace=workspace, kind=kind, **settings)


def _manager(make_user, workspace, username, email):
    user = make_user("manager", username=username, workspace=workspace)
    user.email = email
    user.save(update_fields=["email"])
    return user


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    """The checks sent to the workers, in order (instead of the broker)."""
    sent: list[int] = []
    monkeypatch.setattr(tasks.check_publication, "delay", sent.append)
    return sent


def _publish(captured, workspace, run, user, queued: list[int]) -> Publication:
    """Publish, then do what a worker does with the checks the publication queued."""
    with captured(execute=True):
        run_publish(workspace=workspace, run_id=run.pk, user=user)
    while queued:
        tasks.check_publication.apply((queued.pop(0),))
    return Publication.objects.in_workspace(workspace).get(run=run)


def test_a_second_publication_raises_the_alerts_its_rules_find_and_mails_each(
    shop, other_shop, make_user, django_capture_on_commit_callbacks, queued
):
    manager = _manager(make_user, shop, "ann", "ann@shop.example")
    _manager(make_user, shop, "bob", "")  # no address: not mailed
    sizes = _rule(shop, "segment_size_change", threshold=5)
    lapses = _rule(shop, "valuable_to_lapsed", min_customers=0, recipients="crm@shop.example")
    off = _rule(shop, "segment_size_change", threshold=1, enabled=False)
    _rule(other_shop, "segment_size_change", threshold=1)
    load_transactions(synthetic_lines(240, seed=4), workspace=shop)

    first = executed_run(shop, manager, TWO, name="two")
    _publish(django_capture_on_commit_callbacks, shop, first, manager, queued)
    assert not Alert.objects.in_workspace(shop).exists()  # nothing to compare with yet
    assert not PublicationCheck.objects.in_workspace(shop).exists()
    assert mail.outbox == []

    second = executed_run(shop, manager, FOUR, name="four")
    publication = _publish(django_capture_on_commit_callbacks, shop, second, manager, queued)

    # What the rules should find, from the runs' own segment sizes and the movements.
    movements = movements_between(workspace=shop, later=publication)
    before = dict(
        Segment.objects.in_workspace(shop).filter(run=first).values_list("number", "size")
    )
    after = dict(
        Segment.objects.in_workspace(shop).filter(run=second).values_list("number", "size")
    )
    grown_or_shrunk = {
        number
        for number, continues in movements.matches.items()
        if continues is not None and abs(after[number] / before[continues] - 1) > 0.05
    }
    lapsing = [
        f
        for f in movements.flows
        if f.source and f.target and f.source.valuable and not f.source.lapsed and f.target.lapsed
    ]
    assert grown_or_shrunk, "a 2-segment run refit as 4 segments changes some segment's size"

    alerts = list(Alert.objects.in_workspace(shop).order_by("pk"))
    assert {a.rule_id for a in alerts} <= {sizes.pk, lapses.pk}
    assert all(a.publication == publication and a.run_id == second.pk for a in alerts)
    size_alerts = [a for a in alerts if a.rule_id == sizes.pk]
    assert {a.details["segment"] for a in size_alerts} == grown_or_shrunk
    for alert in size_alerts:
        match = SIZE_SENTENCE.match(alert.message)
        assert match, alert.message
        segment = Segment.objects.in_workspace(shop).get(
            run=second, number=alert.details["segment"]
        )
        assert match["name"] == segment.name
        assert (alert.details["before"], alert.details["after"]) == (
            before[alert.details["continues"]],
            after[segment.number],
        )
    lapse_alerts = [a for a in alerts if a.rule_id == lapses.pk]
    assert [(a.details["source"], a.details["target"], a.details["customers"])
            for a in lapse_alerts] == [
        (f.source.number, f.target.number, f.customers) for f in lapsing
    ]  # fmt: skip
    assert not Alert.objects.in_workspace(other_shop).exists()
    assert not off.alerts.exists()

    # One e-mail per alert: the rule's addresses, or the managers who have one.
    assert len(mail.outbox) == len(alerts)
    for message, alert in zip(mail.outbox, alerts, strict=True):
        expected = ["ann@shop.example"] if alert.rule_id == sizes.pk else ["crm@shop.example"]
        assert message.to == expected
        assert alert.mailed_to == ", ".join(expected) and alert.mail_error == ""
        assert shop.name in message.subject
        assert alert.message in message.body
    check = PublicationCheck.objects.in_workspace(shop).get()
    assert (check.publication, check.rules_checked, check.alerts_raised) == (
        publication, 2, len(alerts)
    )  # fmt: skip
    assert check.is_done


def test_publishing_only_queues_the_check_which_a_worker_does_once(
    shop, make_user, django_capture_on_commit_callbacks, queued, monkeypatch
):
    manager = _manager(make_user, shop, "ann", "ann@shop.example")
    _rule(shop, "segment_size_change", threshold=1)
    load_transactions(synthetic_lines(240, seed=4), workspace=shop)
    first = executed_run(shop, manager, TWO, name="two")
    second = executed_run(shop, manager, FOUR, name="four")
    _publish(django_capture_on_commit_callbacks, shop, first, manager, queued)

    # The publishing process neither reads the movements nor talks to the mail server.
    def forbidden(*args, **kwargs):
        raise AssertionError("publishing must leave this to the worker")

    with monkeypatch.context() as patch:
        patch.setattr("clustering.movements._compare", forbidden)
        patch.setattr("alerts.mailing.send_mail", forbidden)
        with django_capture_on_commit_callbacks(execute=True):
            run_publish(workspace=shop, run_id=second.pk, user=manager)
    publication = Publication.objects.in_workspace(shop).get(run=second)
    check = PublicationCheck.objects.in_workspace(shop).get()
    assert queued == [check.pk] and check.publication == publication and not check.is_done
    assert not Alert.objects.in_workspace(shop).exists() and mail.outbox == []

    # The worker's task raises and mails; the same message again raises and mails nothing.
    tasks.check_publication.apply((check.pk,))
    raised = list(Alert.objects.in_workspace(shop).values_list("pk", flat=True))
    assert raised and len(mail.outbox) == len(raised)
    assert tasks.check_publication.apply((check.pk,)).get() == 0
    assert list(Alert.objects.in_workspace(shop).values_list("pk", flat=True)) == raised
    assert len(mail.outbox) == len(raised)
    check.refresh_from_db()
    assert check.is_done and check.alerts_raised == len(raised)


def test_nothing_is_queued_without_a_rule_on_publications_or_an_earlier_publication(
    shop, make_user, django_capture_on_commit_callbacks, queued
):
    manager = _manager(make_user, shop, "ann", "ann@shop.example")
    _rule(shop, "scheduled_run_failed")  # watches runs, not publications
    _rule(shop, "segment_size_change", threshold=1, enabled=False)
    load_transactions(synthetic_lines(120, seed=4), workspace=shop)
    for seed in (7, 8):
        run = executed_run(shop, manager, {**TWO, "seed": seed}, name=f"seed {seed}")
        _publish(django_capture_on_commit_callbacks, shop, run, manager, queued)
    assert not PublicationCheck.objects.in_workspace(shop).exists()


def test_the_reaper_sends_again_the_checks_no_worker_took(
    shop, make_user, django_capture_on_commit_callbacks, queued, settings
):
    from datetime import timedelta

    from clustering.signals import reaper_tick

    manager = _manager(make_user, shop, "ann", "ann@shop.example")
    _rule(shop, "segment_size_change", threshold=1)
    load_transactions(synthetic_lines(120, seed=4), workspace=shop)
    runs = [executed_run(shop, manager, {**TWO, "seed": s}, name=f"s{s}") for s in (7, 8, 9, 10)]
    for run in runs[:3]:
        with django_capture_on_commit_callbacks(execute=True):
            run_publish(workspace=shop, run_id=run.pk, user=manager)
    lost, done = PublicationCheck.objects.in_workspace(shop).order_by("pk")
    tasks.check_publication.apply((done.pk,))
    long_ago = timezone.now() - timedelta(seconds=settings.ALERT_CHECK_OVERDUE_SECONDS + 1)
    PublicationCheck.objects.in_workspace(shop).update(queued_at=long_ago)
    with django_capture_on_commit_callbacks(execute=True):
        run_publish(workspace=shop, run_id=runs[3].pk, user=manager)
    recent = PublicationCheck.objects.in_workspace(shop).latest("pk")
    queued.clear()

    with django_capture_on_commit_callbacks(execute=True):
        reaper_tick.send(sender=None)
    assert queued == [lost.pk]  # not the done one, nor the one queued a moment ago
    lost.refresh_from_db()
    assert lost.queued_at > long_ago and recent.pk != lost.pk

    # Sent again, it is done like any other; the next tick sends nothing.
    tasks.check_publication.apply((lost.pk,))
    lost.refresh_from_db()
    assert lost.is_done and lost.rules_checked == 1
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        reaper_tick.send(sender=None)
    assert queued == []


def _scheduled_run(workspace, user, name="nightly"):
    return run_create(
        workspace=workspace,
        user=user,
        params=params_from_input(TWO),
        name=name,
        enqueue=False,
        trigger="schedule",
    )


def test_a_failed_scheduled_run_raises_an_alert_and_other_endings_do_not(
    shop, make_user, django_capture_on_commit_callbacks
):
    manager = _manager(make_user, shop, "ann", "ann@shop.example")
    rule = _rule(shop, "scheduled_run_failed")
    _rule(shop, "segment_size_change", threshold=1)
    load_transactions(synthetic_lines(120, seed=4), workspace=shop)

    failed = _scheduled_run(shop, manager)
    by_hand = run_create(workspace=shop, user=manager, params=params_from_input(TWO), enqueue=False)
    cancelled = _scheduled_run(shop, manager, name="")
    with django_capture_on_commit_callbacks(execute=True):
        finish(SegmentationRun.objects.in_workspace(shop).get(pk=failed.pk), "failed",
               "The worker stopped.")  # fmt: skip
        finish(SegmentationRun.objects.in_workspace(shop).get(pk=by_hand.pk), "failed", "x")
        run_cancel(workspace=shop, run_id=cancelled.pk, user=manager)

    [alert] = Alert.objects.in_workspace(shop)
    failed.refresh_from_db()
    assert (alert.rule, alert.kind, alert.run_id, alert.publication) == (
        rule, "scheduled_run_failed", failed.pk, None
    )  # fmt: skip
    day = timezone.localtime(failed.finished_at).strftime("%-d %b %Y")
    assert alert.message == f"The scheduled run “nightly” failed on {day}: The worker stopped."
    [message] = mail.outbox
    assert message.to == ["ann@shop.example"] and alert.message in message.body


def test_a_mail_that_fails_is_logged_and_the_alert_stays(
    shop, make_user, django_capture_on_commit_callbacks, monkeypatch, caplog, settings
):
    settings.ALERT_MAIL_RETRY_DELAYS = []  # no automatic retry (tests/alerts/test_mailing.py)
    manager = _manager(make_user, shop, "ann", "ann@shop.example")
    _rule(shop, "scheduled_run_failed", recipients="ops@shop.example")
    load_transactions(synthetic_lines(120, seed=4), workspace=shop)
    run = _scheduled_run(shop, manager)

    def refuse(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr("alerts.mailing.send_mail", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        finish(SegmentationRun.objects.in_workspace(shop).get(pk=run.pk), "failed", "Boom.")

    [alert] = Alert.objects.in_workspace(shop)
    assert alert.mailed_to == ""
    assert alert.mail_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert "the e-mail to ops@shop.example failed" in caplog.text


def test_an_alert_without_anyone_to_mail_says_so(
    shop, make_user, django_capture_on_commit_callbacks
):
    manager = make_user("manager", workspace=shop)  # no e-mail address
    _rule(shop, "scheduled_run_failed")
    load_transactions(synthetic_lines(120, seed=4), workspace=shop)
    run = _scheduled_run(shop, manager)
    with django_capture_on_commit_callbacks(execute=True):
        finish(SegmentationRun.objects.in_workspace(shop).get(pk=run.pk), "failed", "Boom.")
    [alert] = Alert.objects.in_workspace(shop)
    assert alert.mail_error.startswith("No recipients")
    assert mail.outbox == []


def test_a_manager_sends_a_refused_mail_again_once_the_server_is_back(
    shop, make_user, django_capture_on_commit_callbacks, monkeypatch, settings
):
    from django.test import Client
    from django.urls import reverse

    manager = _manager(make_user, shop, "ann", "ann@shop.example")
    marketer = make_user("marketing", username="mara", workspace=shop)
    _rule(shop, "scheduled_run_failed", recipients="ops@shop.example")
    load_transactions(synthetic_lines(120, seed=4), workspace=shop)
    run = _scheduled_run(shop, manager)

    def refuse(*args, **kwargs):  # for good: the server will answer the same next time
        raise smtplib.SMTPRecipientsRefused({"ops@shop.example": (550, b"No such user")})

    with monkeypatch.context() as patch:
        patch.setattr("alerts.mailing.send_mail", refuse)
        with django_capture_on_commit_callbacks(execute=True):
            finish(SegmentationRun.objects.in_workspace(shop).get(pk=run.pk), "failed", "Boom.")
    [alert] = Alert.objects.in_workspace(shop)
    assert alert.mail_error and mail.outbox == []

    page = reverse("alerts:index")
    again = reverse("alerts:alert-mail-again", args=[alert.pk])
    managing, reading = Client(), Client()
    managing.force_login(manager)
    reading.force_login(marketer)
    assert "Send again" in managing.get(page).content.decode()
    assert "Send again" not in reading.get(page).content.decode()
    assert reading.post(again).status_code == 403

    sent: list[int] = []
    monkeypatch.setattr(tasks.mail_alert, "delay", sent.append)
    with django_capture_on_commit_callbacks(execute=True):
        assert managing.post(again).status_code == 302
    alert.refresh_from_db()
    assert sent == [alert.pk] and alert.mail_error == "" and alert.mailed_to == ""
    assert "sending…" in managing.get(page).content.decode()

    # The worker sends it; the same message again sends nothing more.
    assert tasks.mail_alert.apply((alert.pk,)).get() == "sent"
    assert tasks.mail_alert.apply((alert.pk,)).get() == "not sent"
    [message] = mail.outbox
    assert message.to == ["ops@shop.example"] and alert.message in message.body
    alert.refresh_from_db()
    assert alert.mailed_to == "ops@shop.example"
    # Sent, there is nothing to send again.
    response = managing.post(again, follow=True)
    assert "nothing to send again" in response.content.decode()
    assert sent == [alert.pk]


def test_sending_again_while_the_queue_is_down_keeps_the_refusal(shop, make_user, monkeypatch):
    from kombu.exceptions import OperationalError

    from alerts.services import alert_mail_again

    rule = _rule(shop, "scheduled_run_failed")
    retry_at = timezone.now() + timedelta(hours=2)
    alert = Alert.objects.create(
        workspace=shop,
        rule=rule,
        kind=rule.kind,
        message="m",
        mail_error="SMTPError: down",
        mail_attempts=4,
        mail_next_attempt_at=retry_at,
    )

    def down(alert_id):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(tasks.mail_alert, "delay", down)
    with pytest.raises(OperationalError):
        alert_mail_again(workspace=shop, alert_id=alert.pk)
    alert.refresh_from_db()
    assert alert.mail_error == "SMTPError: down"  # still offered to send again
    assert alert.mail_next_attempt_at == retry_at  # and still tried again then


def test_a_publication_whose_customers_are_worth_less_ahead_raises_the_value_alert(
    shop, make_user, django_capture_on_commit_callbacks, queued
):
    manager = _manager(make_user, shop, "ann", "ann@shop.example")
    rule = _rule(shop, "expected_value_drop", threshold=5)
    load_transactions(synthetic_lines(240, seed=4), workspace=shop)
    first = executed_run(shop, manager, TWO, name="two")
    second = executed_run(shop, manager, FOUR, name="four")
    before = first.value_ahead["total_expected_value"]
    after = second.value_ahead["total_expected_value"]
    assert before == pytest.approx(after, rel=1e-6)  # the same customers, the same models
    # The later run as if estimated after its customers slowed down: a fifth worth less.
    value = {**second.value_ahead, "total_expected_value": 0.8 * after}
    SegmentationRun.objects.in_workspace(shop).filter(pk=second.pk).update(value_ahead=value)
    _publish(django_capture_on_commit_callbacks, shop, first, manager, queued)
    publication = _publish(django_capture_on_commit_callbacks, shop, second, manager, queued)

    [alert] = Alert.objects.in_workspace(shop)
    assert (alert.rule, alert.kind, alert.publication) == (rule, "expected_value_drop", publication)
    assert alert.message.startswith(
        f"The customers' expected value over the next {value['horizon_days']} days fell by 20%"
    )
    assert alert.details["before"] == round(before, 2)
    [message] = mail.outbox
    assert message.to == ["ann@shop.example"] and alert.message in message.body
