"""The one way to write the audit log: record(...), called by every app for its actions."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.db import models
from django.http import HttpRequest

from common.client_ip import client_ip

from .middleware import current_request
from .models import AuditEntry

SYSTEM = "the system"
SCHEDULE = "the schedule"


def _actor_name(actor) -> str:
    if actor is None:
        return SYSTEM
    return actor.get_username() if hasattr(actor, "get_username") else str(actor)


def current_address() -> str | None:
    """The client address of the request being served, None outside one: kept on work a
    worker does later, so that work's audit entry can name it."""
    serving = current_request()
    return _valid_address(client_ip(serving)) if serving is not None else None


def _valid_address(text: str) -> str | None:
    # REMOTE_ADDR can be empty or a socket path (a unix-socket proxy): not an address.
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def record(
    *,
    workspace,
    action: str,
    actor=None,
    target: models.Model | None = None,
    request: HttpRequest | None = None,
    details: dict[str, Any] | None = None,
    actor_name: str | None = None,
    target_id: str | None = None,
    address: str | None = None,
) -> AuditEntry:
    """Append one entry. Call it inside the change's transaction, so a failed change leaves
    no entry. `actor` None means the system (or the request's user when a request is given);
    `actor_name` overrides the shown name (e.g. audit.log.SCHEDULE); `target_id` the
    target's key where its pk is not for showing (a token's digest: its token_key).
    Without `request`, the address is that of the request being served
    (AuditRequestMiddleware), if any, else `address` (work done later on a worker, in the
    name of a request: current_address() kept from it)."""
    if workspace is None:
        raise ValueError("An audit entry needs the workspace the action was done in.")
    if action not in AuditEntry.Action.values:
        raise ValueError(
            f"{action!r} is not an audit action; use one of {', '.join(AuditEntry.Action.values)}."
        )
    if details is not None and not isinstance(details, dict):
        raise ValueError("Audit details must be a dict (a small JSON object).")
    if request is not None and actor is None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = user
    serving = request if request is not None else current_request()
    if serving is not None:
        address = _valid_address(client_ip(serving))
    elif address is not None:
        address = _valid_address(address)
    target_type = target_repr = ""
    if target is not None:
        target_type = target._meta.label_lower
        if target_id is None:
            target_id = str(target.pk) if target.pk is not None else ""
        target_repr = str(target)[:200]
    return AuditEntry.objects.create(
        workspace=workspace,
        action=action,
        actor=actor,
        actor_name=(actor_name or _actor_name(actor))[:150],
        target_type=target_type,
        target_id=(target_id or "")[:64],
        target_repr=target_repr,
        address=address,
        details=details or {},
    )


def record_members_exported(
    *,
    request,
    target: models.Model,
    what: str,
    rows: int | None = None,
    personal: bool | None = None,
) -> AuditEntry:
    """The entry of a CSV export of customers (pages and API): a list of people leaving the
    product, so each one is logged with the requester (token or session) and address, how
    many rows left and whether they carried contact details (e-mail, name)."""
    details: dict = {"what": what}
    if rows is not None:
        details["rows"] = rows
    if personal is not None:
        details["contact_details"] = personal
    return record(
        workspace=request.workspace,
        action=AuditEntry.Action.MEMBERS_EXPORTED,
        actor=request.user,
        target=target,
        request=request,
        details=details,
    )
