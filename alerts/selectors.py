"""Reads of the alerts app, each within one workspace."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Alert, AlertRule, PublicationCheck


def rule_list(*, workspace) -> QuerySet[AlertRule]:
    return AlertRule.objects.in_workspace(workspace).select_related("created_by")


def alert_list(*, workspace) -> QuerySet[Alert]:
    """Every alert of the workspace, newest first."""
    return Alert.objects.in_workspace(workspace).select_related("acknowledged_by", "rule")


def open_alerts(*, workspace) -> QuerySet[Alert]:
    """The alerts no member has acknowledged yet, newest first (the dashboard's)."""
    return alert_list(workspace=workspace).filter(acknowledged_at__isnull=True)


def latest_publication_check(*, workspace) -> PublicationCheck | None:
    """The newest publication's check against the rules, waiting or done (None: no
    publication has been checked, the workspace had no rule or nothing to compare)."""
    return (
        PublicationCheck.objects.in_workspace(workspace)
        .select_related("publication")
        .order_by("-publication__published_at", "-pk")
        .first()
    )
