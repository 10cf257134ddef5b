"""What was done in a workspace, by whom, from where: an append-only log (issue 19).

Rows are written only by audit.log.record and never changed or deleted: the model and its
queryset refuse, and database triggers (migration 0002) refuse UPDATE and DELETE too.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from workspaces.models import Workspace
from workspaces.scoping import ScopedManager, ScopedQuerySet, UnscopedManager


class AppendOnlyError(Exception):
    """An audit entry was to be changed or deleted: the log is append-only."""

    def __init__(self, what: str = "changed or deleted"):
        super().__init__(f"Audit entries are append-only: they cannot be {what}.")


class AuditEntryQuerySet(ScopedQuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("updated")

    def delete(self):
        raise AppendOnlyError("deleted")

    def _raw_delete(self, using):
        raise AppendOnlyError("deleted")


class ScopedAuditManager(ScopedManager.from_queryset(AuditEntryQuerySet)):  # type: ignore[misc]
    pass


class UnscopedAuditManager(UnscopedManager.from_queryset(AuditEntryQuerySet)):  # type: ignore[misc]
    pass


class AuditEntry(models.Model):
    class Action(models.TextChoices):
        IMPORT_STARTED = "import_started", "Import started"
        IMPORT_UNDONE = "import_undone", "Import undone"
        RUN_STARTED = "run_started", "Run started"
        RUN_CANCELLED = "run_cancelled", "Run cancelled"
        RUN_PUBLISHED = "run_published", "Run published"
        MEMBERS_EXPORTED = "members_exported", "Members exported"
        TOKEN_CREATED = "token_created", "API token created"
        TOKEN_REVOKED = "token_revoked", "API token revoked"
        MEMBER_ADDED = "member_added", "Member added"
        ROLE_CHANGED = "role_changed", "Role changed"
        MEMBER_REMOVED = "member_removed", "Member removed"
        SCHEDULE_CHANGED = "schedule_changed", "Schedule changed"
        ALERT_RULE_CHANGED = "alert_rule_changed", "Alert rule changed"
        WEBHOOK_CHANGED = "webhook_changed", "Webhook changed"
        PLAYBOOK_CHANGED = "playbook_changed", "Playbook changed"
        CONTACT_ERASED = "contact_erased", "Contact details erased"
        CUSTOMER_REMOVED = "customer_removed", "Customer removed"
        CUSTOMER_LET_BACK_IN = "customer_let_back_in", "Customer let back into imports"
        CUSTOMERS_KEPT_OUT = "customers_kept_out", "Customer ids kept out of imports"
        SHOP_SETTINGS_CHANGED = "shop_settings_changed", "Shop settings changed"
        SHOP_CREATED = "shop_created", "Shop created"

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Kept when the user is deleted; "the schedule" / "the system" when no user acted.
    actor_name = models.CharField(max_length=150)
    action = models.CharField(max_length=32, choices=Action.choices)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=200, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    WORKSPACE_PATH = "workspace"
    objects = ScopedAuditManager()
    unscoped = UnscopedAuditManager()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["workspace", "-at"], name="auditentry_ws_at_idx")]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name}: {self.get_action_display()}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("deleted")

    @property
    def details_words(self) -> list[tuple[str, str]]:
        """The details as the log page shows them: a change as "old → new", a list joined."""
        words = []
        for key, value in self.details.items():
            if isinstance(value, dict) and set(value) == {"from", "to"}:
                text = f"{value['from'] or '(none)'} → {value['to'] or '(none)'}"
            elif isinstance(value, list):
                text = ", ".join(map(str, value))
            else:
                text = str(value)
            words.append((key, text))
        return words
