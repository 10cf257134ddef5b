"""Webhooks: where a workspace's integrations are told that a segmentation was published or
an alert raised, and every delivery of that news with each attempt's answer (issue 19)."""

from __future__ import annotations

import secrets
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from clustering.models import Publication
from clustering.signals import AlertKind
from workspaces.models import Workspace
from workspaces.scoping import ScopedManager, UnscopedManager

SECRET_PREFIX = "whsec_"  # noqa: S105 - a label, not a secret


class Event(models.TextChoices):
    PUBLISHED = "segmentation.published", "Segmentation published"
    ALERT = "alert.raised", "Alert raised"
    CUSTOMER_REMOVED = "customer.removed", "Customer removed"
    # An undone import's customers, together; sent to the endpoints that take removals.
    CUSTOMERS_REMOVED = "customers.removed", "Customers removed"
    TEST = "webhook.test", "Test event"


#: The events an endpoint chooses to receive (a test event goes to any endpoint asked): the
#: form's label of each, and the word the endpoints list says it in.
_SUBSCRIBABLE = {
    Event.PUBLISHED.value: ("Each published segmentation", "publications"),
    Event.ALERT.value: ("Each alert raised", "alerts"),
    Event.CUSTOMER_REMOVED.value: ("Each customer removed", "removals"),
}
SUBSCRIBABLE = [(value, label) for value, (label, _word) in _SUBSCRIBABLE.items()]


class Format(models.TextChoices):
    JSON = "json", "JSON, for an integration (docs/webhooks.md)"
    CHAT = "chat", "A chat message: Slack, Discord, Google Chat or Mattermost webhooks"
    TEAMS = "teams", "A Microsoft Teams card: a Teams channel's Workflows webhook"


#: Hosts of Teams' Workflows webhooks (Power Automate): they answer 202 to any body and
#: the flow then fails on anything but a card, so the delivery log would say "succeeded".
_WORKFLOWS_HOSTS = (".logic.azure.com", ".powerplatform.com")


#: Discord's webhooks take {"content": ...}; at the same address with /slack at the end,
#: Slack's {"text": ...}, which the chat format writes.
_DISCORD_HOSTS = ("discord.com", "discordapp.com")


def format_refused(url: str, format: str) -> str | None:
    """Why `format` cannot reach `url`, or None: a Teams Workflows address takes cards only,
    and a Discord webhook a chat message at its Slack-compatible address only."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if format != Format.TEAMS and host.endswith(_WORKFLOWS_HOSTS):
        return (
            "This is a Teams Workflows address, which posts cards only: choose "
            f"“{Format.TEAMS.label}”."
        )
    discord = host in _DISCORD_HOSTS or host.endswith(tuple(f".{h}" for h in _DISCORD_HOSTS))
    slack_path = parts.path.rstrip("/").endswith("/slack")
    if discord and (format != Format.CHAT or not slack_path):
        return (
            f"Discord takes a chat message at its Slack-compatible address: choose "
            f"“{Format.CHAT.label}”"
            + (", and add /slack at the end of this address." if not slack_path else ".")
        )
    return None


def every_event() -> list[str]:
    return [value for value, _label in SUBSCRIBABLE]


def clean_events(events) -> list[str]:
    """The events chosen, each once, in SUBSCRIBABLE's order; at least one, all known."""
    known = every_event()
    unknown = [e for e in events if e not in known]
    if unknown or not events:
        raise ValidationError(
            f"Choose at least one of {', '.join(known)}"
            + (f" (not {', '.join(map(str, unknown))})." if unknown else ".")
        )
    return [e for e in known if e in events]


def clean_alert_kinds(kinds) -> list[str]:
    """The alert kinds chosen, each once, in AlertKind's order, all known; none (or every
    one) is stored as [], which means every kind, those added later too."""
    known = list(AlertKind.values)
    unknown = [k for k in kinds if k not in known]
    if unknown:
        raise ValidationError(
            f"Alert kinds are {', '.join(known)} (not {', '.join(map(str, unknown))})."
        )
    chosen = [k for k in known if k in kinds]
    return [] if len(chosen) == len(known) else chosen


def new_secret() -> str:
    """A fresh signing secret: 32 random bytes, URL-safe, with a prefix that says what it is."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


class Endpoint(models.Model):
    """An address that receives the workspace's events, signed with the endpoint's secret."""

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")
    url = models.URLField(max_length=2000, help_text="An http(s) address on the internet.")
    description = models.CharField(max_length=200, blank=True)
    # Kept readable (not hashed): every delivery is signed with it, and managers copy it to
    # the receiver so it can check the signature.
    secret = models.CharField(max_length=80, default=new_secret)
    enabled = models.BooleanField(default=True)
    events = models.JSONField(
        default=every_event,
        help_text="What it receives: any of segmentation.published, alert.raised and "
        "customer.removed.",
    )
    alert_kinds = models.JSONField(
        default=list,
        blank=True,
        help_text="The kinds of alert it receives, when it receives alerts; empty: every kind.",
    )
    format = models.CharField(
        max_length=8,
        choices=Format.choices,
        default=Format.JSON,
        help_text="How each event is written: the JSON body, one line of text "
        '({"text": ...}) that a chat channel\'s incoming webhook posts, or that line as an '
        "Adaptive Card, which a Teams Workflows webhook posts.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    WORKSPACE_PATH = "workspace"
    objects = ScopedManager()
    unscoped = UnscopedManager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.description or self.url

    def receives(self, event: str) -> bool:
        return event in self.events

    def receives_alert(self, kind: str) -> bool:
        return self.receives(Event.ALERT) and (not self.alert_kinds or kind in self.alert_kinds)

    @property
    def events_in_words(self) -> str:
        """What it receives, as the pages say it ("publications and alerts")."""
        words = [_SUBSCRIBABLE[e][1] for e in self.events if e in _SUBSCRIBABLE]
        if self.receives(Event.ALERT) and self.alert_kinds:
            kinds = len(self.alert_kinds)
            alerts = _SUBSCRIBABLE[Event.ALERT.value][1]
            words[words.index(alerts)] = f"{alerts} ({kinds} of {len(AlertKind.values)} kinds)"
        if len(words) > 2:
            return f"{', '.join(words[:-1])} and {words[-1]}"
        return " and ".join(words) or "test events only"


class Delivery(models.Model):
    """One event for one endpoint: its exact body and where its delivery stands. Sending it
    again keeps the idempotency key, so a receiver can drop what it already handled."""

    Event = Event

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERING = "delivering", "Delivering"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40, choices=Event.choices, default=Event.PUBLISHED)
    publication = models.ForeignKey(
        Publication, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The alert announced (the alerts app's id; no foreign key: the apps stay apart), kept
    # apart from the body, which a chat endpoint's is written without.
    alert_id = models.PositiveBigIntegerField(null=True, blank=True)
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    payload = models.JSONField(
        default=dict,
        blank=True,
        help_text="The body sent, written before the first attempt and never changed; it is "
        "serialised canonically (webhooks.signing.body_bytes), so every attempt sends the "
        "same bytes.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Attempts since the delivery was (re)queued."
    )
    next_attempt_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Pending: when the next attempt is due. Delivering: until when the worker "
        "that took it holds it (after that another may take it over).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    WORKSPACE_PATH = "workspace"
    objects = ScopedManager()
    unscoped = UnscopedManager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "deliveries"
        constraints = [
            # One announcement of a publication per endpoint, however often the signal fires.
            models.UniqueConstraint(
                fields=["endpoint", "publication"],
                condition=Q(event="segmentation.published"),
                name="webhook_one_delivery_per_publication",
            ),
            # One announcement of an alert per endpoint, even with two senders racing.
            models.UniqueConstraint(
                fields=["endpoint", "alert_id"],
                condition=Q(event="alert.raised"),
                name="webhook_one_delivery_per_alert",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="delivery_ws_idx")]

    def __str__(self) -> str:
        return f"{self.get_event_display()} to {self.endpoint} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)


class DeliveryAttempt(models.Model):
    """One POST of a delivery and what came back (or why nothing did)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.CharField(max_length=500, blank=True)

    WORKSPACE_PATH = "workspace"
    objects = ScopedManager()
    unscoped = UnscopedManager()

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error[:40]}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
