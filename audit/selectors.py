"""Reading the audit log: one query for the page, its CSV and the API."""

from __future__ import annotations

import datetime

from django.db.models import QuerySet

from .models import AuditEntry


def audit_entries(
    *,
    workspace,
    action: str = "",
    actor: str = "",
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> QuerySet[AuditEntry]:
    """The workspace's entries, newest first; `actor` is the name shown (a username, or
    "the schedule"), dates are days in the current time zone (the shop's, as its pages show
    the entries), both ends included."""
    entries = AuditEntry.objects.in_workspace(workspace)
    if action:
        entries = entries.filter(action=action)
    if actor:
        entries = entries.filter(actor_name__iexact=actor)
    if date_from:
        entries = entries.filter(at__date__gte=date_from)
    if date_to:
        entries = entries.filter(at__date__lte=date_to)
    return entries.order_by("-at", "-pk")


def audit_actor_names(*, workspace) -> list[str]:
    """The names that acted in the workspace, for the actor filter's suggestions."""
    names = AuditEntry.objects.in_workspace(workspace).values_list("actor_name", flat=True)
    return sorted(set(names), key=str.lower)
