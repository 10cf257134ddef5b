"""A shop's settings as its admins change them: its name, currency, time zone and how its
files are read. The currency is fixed once the shop holds lines or an import is under way,
since amounts are stored as written and a new currency would relabel them, not convert them."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from audit.log import record as audit_record
from audit.models import AuditEntry
from workspaces.models import Workspace

from .models import ImportRecord
from .selectors import import_record_list, transaction_lines

#: What the settings page changes, in the order it shows them.
SHOP_SETTINGS = ("name", "currency", "time_zone", "date_order", "code_page", "customer_ids_kept")
_UNDER_WAY = (
    ImportRecord.Status.READING,
    ImportRecord.Status.NEEDS_MAPPING,
    ImportRecord.Status.QUEUED,
    ImportRecord.Status.RUNNING,
)


class ShopSettingsRefused(Exception):
    """A change the shop's state does not allow; the message says why, for the page, and
    `code` names it for the API ("currency_fixed")."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = f"{field}_fixed"


def currency_fixed_because(workspace: Workspace) -> str | None:
    """Why the shop's currency can no longer change, or None while it can."""
    if transaction_lines(workspace=workspace).exists():
        return (
            f"The shop's lines are stored in {workspace.currency}; another currency would "
            "relabel their amounts, not convert them."
        )
    if import_record_list(workspace=workspace).filter(status__in=_UNDER_WAY).exists():
        return (
            f"An import is under way, reading amounts in {workspace.currency}; change the "
            "currency once it has finished or been undone, before any lines are stored."
        )
    return None


@transaction.atomic
def shop_settings_change(
    *, workspace: Workspace, by: AbstractBaseUser, changes: dict[str, str]
) -> dict[str, dict[str, str]]:
    """Save the settings that differ from the shop's and record who changed what; returns
    {setting: {"from": ..., "to": ...}} ({} when nothing changed). The workspace's schedule
    follows a new time zone (schedules.receivers.on_workspace_saved)."""
    workspace.lock()
    current = Workspace.objects.get(pk=workspace.pk)
    changed = {
        name: {"from": getattr(current, name), "to": changes[name]}
        for name in SHOP_SETTINGS
        if name in changes and changes[name] != getattr(current, name)
    }
    if "currency" in changed:
        reason = currency_fixed_because(current)
        if reason is not None:
            raise ShopSettingsRefused("currency", reason)
    if not changed:
        return {}
    for name, change in changed.items():
        setattr(workspace, name, change["to"])
    workspace.full_clean()
    workspace.save(update_fields=list(changed))
    record_settings_changed(workspace=workspace, by=by, changed=changed)
    return changed


def settings_differences(before: Workspace, after: Workspace) -> dict[str, dict[str, str]]:
    """{setting: {"from": ..., "to": ...}} for the settings and the slug (which a site
    administrator may change in Django admin) that differ between two copies of a shop."""
    return {
        name: {"from": getattr(before, name), "to": getattr(after, name)}
        for name in (*SHOP_SETTINGS, "slug")
        if getattr(before, name) != getattr(after, name)
    }


def record_settings_changed(
    *, workspace: Workspace, by: AbstractBaseUser, changed: dict[str, dict[str, str]]
) -> None:
    """One entry in the shop's audit log for the changes saved (none when nothing changed),
    whether by the settings page, the API or a site administrator in Django admin."""
    if not changed:
        return
    audit_record(
        workspace=workspace,
        action=AuditEntry.Action.SHOP_SETTINGS_CHANGED,
        actor=by,
        target=workspace,
        details=changed,
    )


def record_shop_created(*, workspace: Workspace, by: AbstractBaseUser) -> None:
    """The new shop's first audit entry: who created it (a site administrator, in Django
    admin) and with which settings."""
    audit_record(
        workspace=workspace,
        action=AuditEntry.Action.SHOP_CREATED,
        actor=by,
        target=workspace,
        details={name: getattr(workspace, name) for name in ("slug", *SHOP_SETTINGS)},
    )
