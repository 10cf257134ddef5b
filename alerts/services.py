"""Writes of the alerts app: rules (each change in the audit log), raising alerts when a
segmentation is published or a scheduled run fails, acknowledging them, and a manager's
"Send again" of a refused e-mail (the sending itself is alerts/mailing.py)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from audit.log import record
from clustering.signals import alerts_raised

from . import rules
from .mailing import mail_attempt, mail_queue
from .models import Alert, AlertRule, Kind, PublicationCheck

logger = logging.getLogger(__name__)


class AlertError(ValueError):
    """An alert action that cannot be done; the message says why."""


#: The fields of a rule a manager sets.
RULE_FIELDS = ("kind", "threshold", "min_customers", "enabled", "recipients")


# ------------------------------------------------------------------------------ rules
def _audit(rule: AlertRule, *, change: str, user, request: HttpRequest | None) -> None:
    record(
        workspace=rule.workspace,
        action="alert_rule_changed",
        actor=user,
        target=rule,
        request=request,
        details={
            "change": change,
            "kind": rule.kind,
            "threshold": rule.threshold,
            "min_customers": rule.min_customers,
            "enabled": rule.enabled,
            "recipients": rule.recipients,
        },
    )


@transaction.atomic
def alert_rule_create(
    *,
    workspace,
    user: User | None,
    kind: str,
    threshold: float | None = None,
    min_customers: int | None = None,
    enabled: bool = True,
    recipients: str = "",
    request: HttpRequest | None = None,
) -> AlertRule:
    """A new rule, checked (ValidationError naming the field) and recorded in the audit log."""
    rule = AlertRule(
        workspace=workspace,
        kind=kind,
        threshold=threshold,
        min_customers=min_customers,
        enabled=enabled,
        recipients=recipients,
        created_by=user,
    )
    rule.full_clean()
    rule.save()
    _audit(rule, change="created", user=user, request=request)
    return rule


@transaction.atomic
def alert_rule_update(
    *,
    workspace,
    rule_id: int,
    user: User | None,
    request: HttpRequest | None = None,
    **changes: Any,
) -> AlertRule:
    """Change some of a rule's fields (RULE_FIELDS); the whole rule is checked again."""
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown:
        raise TypeError(f"Not a field of an alert rule: {', '.join(sorted(unknown))}")
    rule = AlertRule.objects.in_workspace(workspace).select_for_update().get(pk=rule_id)
    for name, value in changes.items():
        setattr(rule, name, value)
    rule.full_clean()
    rule.save()
    change = "updated"
    if set(changes) == {"enabled"}:
        change = "enabled" if rule.enabled else "disabled"
    _audit(rule, change=change, user=user, request=request)
    return rule


@transaction.atomic
def alert_rule_delete(
    *, workspace, rule_id: int, user: User | None, request: HttpRequest | None = None
) -> None:
    """Delete a rule; the alerts it raised stay in the history."""
    rule = AlertRule.objects.in_workspace(workspace).select_for_update().get(pk=rule_id)
    _audit(rule, change="deleted", user=user, request=request)
    rule.delete()


@transaction.atomic
def alert_acknowledge(*, workspace, alert_id: int, user: User) -> Alert:
    """Mark an alert read, by whom and when; acknowledging it again changes nothing."""
    alert = Alert.objects.in_workspace(workspace).select_for_update().get(pk=alert_id)
    if alert.acknowledged_at is None:
        alert.acknowledged_at = timezone.now()
        alert.acknowledged_by = user
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return alert


# ------------------------------------------------------------------------------ raising
def _enabled_rules(workspace, *kinds: str) -> list[AlertRule]:
    return list(AlertRule.objects.in_workspace(workspace).filter(enabled=True, kind__in=kinds))


#: The rules a publication is checked against (the others watch runs).
PUBLICATION_KINDS = (Kind.SEGMENT_SIZE_CHANGE, Kind.VALUABLE_TO_LAPSED, Kind.EXPECTED_VALUE_DROP)


def publication_check_queue(*, workspace, publication) -> PublicationCheck | None:
    """Queue the check of a committed publication against the workspace's rules, for a
    worker: none when no rule watches publications or nothing was published before it."""
    if publication.previous_id is None or not _enabled_rules(workspace, *PUBLICATION_KINDS):
        return None
    check, created = PublicationCheck.objects.in_workspace(workspace).get_or_create(
        publication=publication, defaults={"workspace": workspace, "queued_at": timezone.now()}
    )
    if created:
        _send(check.pk)
    return check


def _send(check_id: int) -> None:
    from .tasks import check_publication

    transaction.on_commit(lambda: check_publication.delay(check_id))


def publication_check(*, check_id: int) -> list[Alert]:
    """Evaluate the rules enabled now against what moved since the publication before this
    one, raise an alert per firing, then mail each. Once per publication: a duplicated task
    waits for the row's lock and finds the check done."""
    from clustering.movements import movements_between  # large: read only when needed

    with transaction.atomic():
        check = (
            # the check's row only: the run and the workspace stay free for everyone else
            PublicationCheck.unscoped.select_for_update(of=("self",))
            .select_related("workspace", "publication__run")
            .get(pk=check_id)
        )
        if check.is_done:
            return []
        workspace, publication = check.workspace, check.publication
        enabled = _enabled_rules(workspace, *PUBLICATION_KINDS)
        firings = []
        if enabled:
            firings = rules.evaluate(
                enabled,
                movements_between(workspace=workspace, later=publication),
                published_on=timezone.localdate(publication.published_at),
            )
        alerts = _raise(workspace, firings, enabled, publication=publication, run=publication.run)
        _announce(workspace, alerts)
        check.checked_at = timezone.now()
        check.rules_checked = len(enabled)
        check.alerts_raised = len(alerts)
        check.save(update_fields=["checked_at", "rules_checked", "alerts_raised"])
    _mail_each(alerts)  # after the commit: the alerts stand whatever mail does
    return alerts


def publication_checks_redispatch_overdue(*, limit: int = 100) -> list[int]:
    """Send again the checks queued over ALERT_CHECK_OVERDUE_SECONDS ago that no worker has
    done (the message was lost: the broker was down when it was sent). Their queued time
    moves to now, so the next sweep waits as long again; a duplicate is harmless."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.ALERT_CHECK_OVERDUE_SECONDS)
    overdue = PublicationCheck.unscoped.filter(checked_at__isnull=True, queued_at__lt=cutoff)
    ids = list(overdue.order_by("pk").values_list("pk", flat=True)[:limit])
    for check_id in ids:
        PublicationCheck.unscoped.filter(pk=check_id).update(queued_at=now)
        _send(check_id)
    return ids


def alerts_for_failed_run(*, workspace, run) -> list[Alert]:
    """Raise and mail the workspace's scheduled_run_failed alerts for a scheduled run that
    failed; nothing for any other run."""
    if run.trigger != run.Trigger.SCHEDULE or run.status != run.Status.FAILED:
        return []
    enabled = _enabled_rules(workspace, Kind.SCHEDULED_RUN_FAILED)
    firings = rules.run_failures(
        enabled,
        run_id=run.pk,
        run_name=f"“{run.name}”" if run.name else f"#{run.pk}",
        error=run.error,
        failed_on=timezone.localdate(run.finished_at or timezone.now()),
    )
    alerts = _raise(workspace, firings, enabled, publication=None, run=run)
    _announce(workspace, alerts)
    _mail_each(alerts)
    return alerts


def _mail_each(alerts: list[Alert]) -> None:
    for alert in alerts:
        outcome = mail_attempt(alert_id=alert.pk)
        if outcome.retry_at is not None:
            mail_queue(alert.pk, eta=outcome.retry_at)


def _announce(workspace, alerts: list[Alert]) -> None:
    """Tell other apps (webhooks) of the raised alerts once they commit."""
    if not alerts:
        return
    events = [
        {
            "id": alert.pk,
            "kind": alert.kind,
            "message": alert.message,
            "details": alert.details,
            "created_at": alert.created_at.isoformat(),
            "run_id": alert.run_id,
            "publication_id": alert.publication_id,
        }
        for alert in alerts
    ]
    transaction.on_commit(
        lambda: alerts_raised.send(sender=Alert, workspace=workspace, alerts=events), robust=True
    )


def _raise(workspace, firings, enabled, *, publication, run) -> list[Alert]:
    by_id = {rule.pk: rule for rule in enabled}
    now = timezone.now()
    return [
        Alert.objects.create(
            workspace=workspace,
            rule=by_id[firing.rule_id],
            kind=firing.kind,
            message=firing.message,
            details=firing.details,
            publication=publication,
            run=run,
            mail_next_attempt_at=now,  # due: mailed once the raise commits
        )
        for firing in firings
    ]


def alert_mail_again(*, workspace, alert_id: int) -> Alert:
    """Queue the e-mail of an alert whose sending failed, for a worker, now (once the mail
    server is fixed, or sooner than its next automatic attempt); refused (AlertError) for
    one that was sent or whose rule is deleted."""
    with transaction.atomic():
        alert = Alert.objects.in_workspace(workspace).select_for_update().get(pk=alert_id)
        if alert.mailed_to or not alert.mail_error:
            raise AlertError("This alert's e-mail was not refused: there is nothing to send again.")
        if alert.rule_id is None:
            raise AlertError("The rule of this alert was deleted: nobody to send it to.")
        before = {
            "mail_error": alert.mail_error,
            "mail_next_attempt_at": alert.mail_next_attempt_at,
        }
        alert.mail_error = ""
        alert.mail_next_attempt_at = timezone.now()
        alert.save(update_fields=["mail_error", "mail_next_attempt_at"])
    from .tasks import mail_alert

    try:
        mail_alert.delay(alert.pk)
    except Exception:  # the queue is down: the alert keeps its refusal, to send again later
        Alert.objects.in_workspace(workspace).filter(pk=alert.pk).update(**before)
        raise
    return alert
