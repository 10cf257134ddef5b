"""An alert's e-mail tried again by itself (alerts/mailing.py): a refusal the mail server
may get over is retried after each of ALERT_MAIL_RETRY_DELAYS, a lasting one is not, an
attempt whose message was lost or whose worker died is queued again by the reaper, and a
duplicated message sends nothing twice."""

from __future__ import annotations

import smtplib
import ssl
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alerts import tasks
from alerts.mailing import is_transient, mail_attempt, mails_redispatch_overdue
from alerts.models import Alert, AlertRule

DELAYS = [60, 300]


# ----------------------------------------------------------------- which refusals pass


@pytest.mark.parametrize(
    "error",
    [
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError("timed out"),
        smtplib.SMTPResponseException(421, b"Service not available, try later"),
        smtplib.SMTPRecipientsRefused({"a@x.example": (450, b"Mailbox busy")}),
        smtplib.SMTPSenderRefused(451, b"Local error", "alerts@x.example"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_a_refusal_the_server_may_get_over_is_transient(error):
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        smtplib.SMTPAuthenticationError(535, b"Authentication credentials invalid"),
        smtplib.SMTPRecipientsRefused({"a@x.example": (550, b"No such user")}),
        # one address refused for good: trying again would refuse it again
        smtplib.SMTPRecipientsRefused({"a@x.example": (450, b"Busy"), "b@x.example": (550, b"No")}),
        smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."),
        ssl.SSLCertVerificationError("certificate verify failed"),
        ImproperlyConfigured("EMAIL_BACKEND"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_a_lasting_refusal_is_not(error):
    assert not is_transient(error)


# ------------------------------------------------------------------- with the database


@pytest.fixture
def alert(shop, settings):
    settings.ALERT_MAIL_RETRY_DELAYS = DELAYS
    rule = AlertRule.objects.create(
        workspace=shop, kind="scheduled_run_failed", recipients="ops@shop.example"
    )
    return Alert.objects.create(
        workspace=shop,
        rule=rule,
        kind=rule.kind,
        message="The scheduled run “nightly” failed",
        mail_next_attempt_at=timezone.now(),  # as raised
    )


@pytest.fixture
def queued(monkeypatch) -> list[tuple[int, object]]:
    """The attempts sent to the workers, with their time (instead of the broker)."""
    sent: list[tuple[int, object]] = []

    def apply_async(args, eta=None):
        sent.append((args[0], eta))

    monkeypatch.setattr(tasks.mail_alert, "apply_async", apply_async)
    return sent


class Server:
    """The mail server: refuses with each of `refusals` in turn, then accepts."""

    def __init__(self, *refusals: Exception):
        self.refusals = list(refusals)
        self.calls = 0

    def __call__(self, subject, body, sender, to, fail_silently):
        self.calls += 1
        if self.refusals:
            raise self.refusals.pop(0)
        mail.outbox.append(mail.EmailMessage(subject, body, sender, to))
        return 1


def _due_now(alert) -> None:
    """Time passes: the next attempt falls due."""
    Alert.objects.in_workspace(alert.workspace).filter(pk=alert.pk).update(
        mail_next_attempt_at=timezone.now()
    )


@pytest.mark.django_db
def test_a_transient_refusal_is_tried_again_after_each_delay_then_sent(
    alert, queued, monkeypatch, settings
):
    settings.SITE_URL = "http://alerts.example/"
    server = Server(smtplib.SMTPServerDisconnected("closed"), ConnectionRefusedError("refused"))
    monkeypatch.setattr("alerts.mailing.send_mail", server)

    before = timezone.now()
    assert tasks.mail_alert.apply((alert.pk,)).get() == "not sent"
    alert.refresh_from_db()
    assert alert.mail_attempts == 1 and alert.mailed_to == ""
    assert alert.mail_error == "SMTPServerDisconnected: closed"
    assert alert.mail_next_attempt_at >= before + timedelta(seconds=DELAYS[0])
    assert queued == [(alert.pk, alert.mail_next_attempt_at)]  # the task queued its next look

    # The message comes early (a redelivery): not due, nothing is sent, it looks again then.
    assert tasks.mail_alert.apply((alert.pk,)).get() == "not sent"
    assert server.calls == 1 and queued[-1] == (alert.pk, alert.mail_next_attempt_at)

    _due_now(alert)
    before = timezone.now()
    assert tasks.mail_alert.apply((alert.pk,)).get() == "not sent"
    alert.refresh_from_db()
    assert alert.mail_attempts == 2 and alert.mail_error.startswith("ConnectionRefusedError")
    assert alert.mail_next_attempt_at >= before + timedelta(seconds=DELAYS[1])

    _due_now(alert)
    assert tasks.mail_alert.apply((alert.pk,)).get() == "sent"
    alert.refresh_from_db()
    assert (alert.mailed_to, alert.mail_error, alert.mail_next_attempt_at) == (
        "ops@shop.example", "", None
    )  # fmt: skip
    assert alert.mail_attempts == 3 and server.calls == 3
    [message] = mail.outbox
    assert message.to == ["ops@shop.example"] and alert.message in message.body
    assert message.body.endswith(
        f"the alerts page: http://alerts.example/w/{alert.workspace.slug}/alerts/"
    )
    # Sent: a duplicate of any earlier message sends nothing more.
    assert tasks.mail_alert.apply((alert.pk,)).get() == "not sent"
    assert server.calls == 3


@pytest.mark.django_db
def test_after_the_last_delay_the_refusal_waits_for_a_manager(
    alert, queued, monkeypatch, make_user, shop
):
    refusals = [smtplib.SMTPResponseException(421, b"Try later")] * (len(DELAYS) + 1)
    monkeypatch.setattr("alerts.mailing.send_mail", Server(*refusals))
    for _ in range(len(DELAYS) + 1):
        _due_now(alert)
        mail_attempt(alert_id=alert.pk)
    alert.refresh_from_db()
    assert alert.mail_attempts == len(DELAYS) + 1
    assert alert.mail_error == "SMTPResponseException: (421, b'Try later')"
    assert alert.mail_next_attempt_at is None
    # Nothing is due: neither a message nor the reaper sends it again.
    assert mail_attempt(alert_id=alert.pk).sent is False
    assert mails_redispatch_overdue() == []

    manager = make_user("manager", workspace=shop)
    client = Client()
    client.force_login(manager)
    row = client.get(reverse("alerts:index")).content.decode()
    assert "not sent: SMTPResponseException" in row and "trying again" not in row
    assert "Send again" in row


@pytest.mark.django_db
def test_a_lasting_refusal_is_not_tried_again(alert, queued, monkeypatch):
    server = Server(smtplib.SMTPRecipientsRefused({"ops@shop.example": (550, b"No such user")}))
    monkeypatch.setattr("alerts.mailing.send_mail", server)
    outcome = mail_attempt(alert_id=alert.pk)
    alert.refresh_from_db()
    assert outcome.retry_at is None and alert.mail_next_attempt_at is None
    assert alert.mail_error.startswith("SMTPRecipientsRefused") and alert.mail_attempts == 1


@pytest.mark.django_db
def test_the_alerts_page_says_when_the_mail_is_tried_again(
    alert, queued, monkeypatch, make_user, shop
):
    monkeypatch.setattr("alerts.mailing.send_mail", Server(TimeoutError("timed out")))
    mail_attempt(alert_id=alert.pk)
    alert.refresh_from_db()
    manager = make_user("manager", workspace=shop)
    client = Client()
    client.force_login(manager)
    page = client.get(reverse("alerts:index")).content.decode()
    at = timezone.localtime(alert.mail_next_attempt_at).strftime("%H:%M")
    assert f"not sent: TimeoutError: timed out (tried 1 time; trying again at {at})" in page
    api = client.get(reverse("api-alerts")).json()["results"][0]
    assert api["mail_attempts"] == 1 and api["mail_next_attempt_at"] is not None


@pytest.mark.django_db
def test_the_reaper_sends_a_mail_whose_worker_died_or_message_was_lost(
    alert, queued, monkeypatch, settings
):
    server = Server()
    monkeypatch.setattr("alerts.mailing.send_mail", server)
    # Raised, then the worker died before mailing (or the retry's message was lost).
    assert mails_redispatch_overdue() == []  # due, but not overdue yet
    long_ago = timezone.now() - timedelta(seconds=settings.ALERT_CHECK_OVERDUE_SECONDS + 1)
    Alert.objects.in_workspace(alert.workspace).filter(pk=alert.pk).update(
        mail_next_attempt_at=long_ago
    )
    assert mails_redispatch_overdue() == [alert.pk]
    assert mails_redispatch_overdue() == []  # the next sweep waits as long again
    assert queued == [(alert.pk, None)]

    assert tasks.mail_alert.apply((alert.pk,)).get() == "sent"
    assert server.calls == 1 and mail.outbox[0].to == ["ops@shop.example"]


@pytest.mark.django_db
def test_an_attempt_in_progress_holds_the_alert(alert, queued, monkeypatch):
    """A second message while a worker talks to the mail server sends nothing."""
    inner: list[object] = []

    def send(subject, body, sender, to, fail_silently):
        inner.append(mail_attempt(alert_id=alert.pk))  # the duplicate, mid-send
        mail.outbox.append(mail.EmailMessage(subject, body, sender, to))
        return 1

    monkeypatch.setattr("alerts.mailing.send_mail", send)
    assert mail_attempt(alert_id=alert.pk).sent
    [duplicate] = inner
    assert duplicate.sent is False and duplicate.retry_at is not None
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_api_sends_a_refused_mail_again_for_managers_only(alert, monkeypatch, make_user, shop):
    monkeypatch.setattr(
        "alerts.mailing.send_mail",
        Server(smtplib.SMTPRecipientsRefused({"ops@shop.example": (550, b"No such user")})),
    )
    mail_attempt(alert_id=alert.pk)  # refused for good: nothing is tried again by itself
    url = reverse("api-alert-mail-again", args=[alert.pk])
    asked: list[int] = []
    monkeypatch.setattr(tasks.mail_alert, "delay", asked.append)

    marketer = Client()
    marketer.force_login(make_user("marketing", username="mia", workspace=shop))
    assert marketer.post(url).status_code == 403
    manager = Client()
    manager.force_login(make_user("manager", username="max", workspace=shop))
    answer = manager.post(url)
    assert answer.status_code == 202 and asked == [alert.pk]
    assert (answer.json()["mail_error"], answer.json()["mailed_to"]) == ("", "")

    # The worker sends it; asked again, there is nothing to send.
    monkeypatch.setattr("alerts.mailing.send_mail", Server())
    assert tasks.mail_alert.apply((asked.pop(),)).get() == "sent"
    again = manager.post(url)
    assert (again.status_code, again.json()["code"]) == (409, "nothing_to_send")
    assert "nothing to send again" in again.json()["detail"] and asked == []
    assert manager.post(reverse("api-alert-mail-again", args=[alert.pk + 999])).status_code == 404
