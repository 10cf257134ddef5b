"""An alert's e-mail: who gets it, one attempt at sending it, and when to try again.

An alert is raised due to be mailed (``mail_next_attempt_at`` now). Each attempt claims the
alert under its row's lock, talks to the mail server outside any transaction, then records
what came of it. A refusal the server may get over (it was unreachable, or answered 4xx) is
tried again after each of ALERT_MAIL_RETRY_DELAYS; a lasting one (5xx, no recipient) waits
for a manager's "Send again". The workers' reaper queues again an attempt whose message was
lost (docs/decisions/alerts-on-publication.md).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from accounts.roles import ADMIN, MANAGER
from accounts.workspace_access import workspace_url

from .models import Alert, AlertRule

logger = logging.getLogger(__name__)

#: Beyond the mail server's timeout, how long a claimed attempt holds the alert before the
#: reaper may take it for lost (its worker died while sending).
HOLD_MARGIN_SECONDS = 60


@dataclass(frozen=True)
class Outcome:
    """What one attempt did, and when the next one is due (None: no further attempt)."""

    sent: bool
    retry_at: datetime | None = None


def recipients_of(rule: AlertRule) -> list[str]:
    """The rule's addresses, or the workspace's managers' (and admins') when it names none."""
    if rule.recipient_list:
        return rule.recipient_list
    emails = (
        Membership.objects.in_workspace(rule.workspace)
        .filter(role__in=(MANAGER, ADMIN), user__is_active=True)
        .exclude(user__email="")
        .order_by("user__email")
        .values_list("user__email", flat=True)
    )
    return list(dict.fromkeys(emails))


def is_transient(error: Exception) -> bool:
    """Whether a mail server's refusal may pass: it could not be reached, dropped the line or
    answered 4xx. A 5xx answer, a certificate that does not verify or a misconfigured backend
    will refuse the same again."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in error.recipients.values()]
        return bool(codes) and all(400 <= code < 500 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return True
    if isinstance(error, (smtplib.SMTPException, ssl.SSLCertVerificationError)):
        return False
    return isinstance(error, OSError)  # refused, reset, timed out, name not resolved


def mail_attempt(*, alert_id: int) -> Outcome:
    """Send an alert's e-mail if it is due and nobody else is sending it."""
    now = timezone.now()
    with transaction.atomic():
        alert = (
            Alert.unscoped.select_for_update(of=("self",))  # not the rule's (a nullable join)
            .select_related("rule__workspace", "workspace")
            .filter(pk=alert_id)
            .first()
        )
        if alert is None or alert.mailed_to or alert.rule is None:
            return Outcome(sent=False)
        due = alert.mail_next_attempt_at
        if due is None:  # refused for good: a manager sends it again
            return Outcome(sent=False)
        if due > now:  # not yet due, or another worker is sending it: look again then
            return Outcome(sent=False, retry_at=due)
        alert.mail_attempts += 1
        hold = settings.EMAIL_TIMEOUT + HOLD_MARGIN_SECONDS
        alert.mail_next_attempt_at = now + timedelta(seconds=hold)
        alert.save(update_fields=["mail_attempts", "mail_next_attempt_at"])
        rule = alert.rule
        to = recipients_of(rule)

    # The mail server, outside any transaction: no row stays locked while it answers.
    error, transient = "", False
    if not to:
        error = "No recipients: the rule names none and no manager has an e-mail."
    else:
        subject = f"[{alert.workspace.name}] {alert.get_kind_display()}"
        page = settings.SITE_URL.rstrip("/") + workspace_url(
            alert.workspace, reverse("alerts:index")
        )
        body = (
            f"{alert.message.rstrip('.')}.\n\n"
            f"Rule: {rule.description}.\n"
            f"Acknowledge it on the dashboard or on the alerts page: {page}"
        )
        try:
            send_mail(subject, body, None, to, fail_silently=False)
        except Exception as refusal:  # any backend's failure: SMTP, DNS, a timeout
            logger.exception("Alert %s: the e-mail to %s failed", alert.pk, ", ".join(to))
            error = f"{type(refusal).__name__}: {refusal}"[:500]
            transient = is_transient(refusal)

    delays = list(settings.ALERT_MAIL_RETRY_DELAYS)
    retry_at = None
    if error and transient and alert.mail_attempts <= len(delays):
        retry_at = timezone.now() + timedelta(seconds=delays[alert.mail_attempts - 1])
    Alert.unscoped.filter(pk=alert.pk).update(
        mailed_to="" if error else ", ".join(to),
        mail_error=error,
        mail_next_attempt_at=retry_at,
    )
    return Outcome(sent=not error, retry_at=retry_at)


def mail_queue(alert_id: int, *, eta: datetime | None = None) -> None:
    """Queue an attempt for a worker; a lost or refused message is the reaper's to resend."""
    from .tasks import mail_alert

    try:
        mail_alert.apply_async((alert_id,), eta=eta)
    except Exception:
        logger.exception("Alert %s: its e-mail was not queued; the reaper will", alert_id)


def mails_redispatch_overdue(*, limit: int = 100) -> list[int]:
    """Queue again the e-mails due over ALERT_CHECK_OVERDUE_SECONDS ago that no worker sent
    (the message was lost, or the worker died sending). Their due time moves to now, so the
    next sweep waits as long again; a duplicate message finds the e-mail not due, or sent."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.ALERT_CHECK_OVERDUE_SECONDS)
    overdue = Alert.unscoped.filter(
        mail_next_attempt_at__lt=cutoff, mailed_to="", rule__isnull=False
    )
    ids = list(overdue.order_by("pk").values_list("pk", flat=True)[:limit])
    taken = []
    for alert_id in ids:
        # another worker's reaper may have taken it a moment ago
        if Alert.unscoped.filter(pk=alert_id, mail_next_attempt_at__lt=cutoff).update(
            mail_next_attempt_at=now
        ):
            mail_queue(alert_id)
            taken.append(alert_id)
    return taken
