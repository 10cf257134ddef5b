"""Alert rules a workspace's managers set, and the alerts they raised.

A rule is checked when a segmentation is published (segment sizes, valuable customers
lapsing) or when a scheduled run fails (alerts/receivers.py); each firing is one Alert,
kept until a member acknowledges it, and mailed to the rule's recipients.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.urls import reverse

from clustering.signals import AlertKind
from workspaces.models import Workspace
from workspaces.scoping import ScopedManager, UnscopedManager

#: A percentage change beyond this is not a threshold anyone means (a typo).
MAX_THRESHOLD = 1000


def parse_recipients(value: str) -> list[str]:
    """The addresses of a comma-separated list, each checked; raises ValidationError naming
    the first one that is not an e-mail address."""
    addresses = [part.strip() for part in (value or "").replace(";", ",").split(",")]
    addresses = [a for a in addresses if a]
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(
                f"{address!r} is not an e-mail address; separate addresses with commas.",
                code="invalid_recipient",
            ) from None
    return list(dict.fromkeys(addresses))


def validate_recipients(value: str) -> None:
    parse_recipients(value)


Kind = AlertKind  # the list is the clustering app's, which webhooks reads too


class AlertRule(models.Model):
    """What a workspace wants to hear about, and who hears it."""

    Kind = Kind

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    threshold = models.FloatField(
        null=True,
        blank=True,
        help_text="Segment size change: alert when a segment grows or shrinks by more than "
        "this many percent against the segment it continues. Expected value drop: alert when "
        "the customers' expected value over the run's horizon falls by more than this many "
        "percent against the publication before.",
    )
    min_customers = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Valuable to lapsed: alert when more than this many customers move from a "
        "valuable segment to a lapsed one.",
    )
    enabled = models.BooleanField(default=True)
    recipients = models.TextField(
        blank=True,
        validators=[validate_recipients],
        help_text="E-mail addresses separated by commas; empty: the workspace's managers.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    WORKSPACE_PATH = "workspace"
    objects = ScopedManager()
    unscoped = UnscopedManager()

    class Meta:
        ordering = ["kind", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="segment_size_change")
                | models.Q(threshold__gt=0, threshold__lte=MAX_THRESHOLD),
                name="size_change_rule_has_threshold",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="valuable_to_lapsed")
                | models.Q(min_customers__isnull=False),
                name="lapse_rule_has_min_customers",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="expected_value_drop")
                | models.Q(threshold__gt=0, threshold__lte=100),
                name="value_drop_rule_has_threshold",
            ),
        ]

    def __str__(self) -> str:
        return self.description

    def get_absolute_url(self) -> str:
        return reverse("alerts:rule-edit", args=[self.pk])

    def clean(self) -> None:
        errors = {}
        if self.kind == Kind.SEGMENT_SIZE_CHANGE:
            if self.threshold is None:
                errors["threshold"] = "Say by how many percent a segment must change."
            elif not 0 < self.threshold <= MAX_THRESHOLD:
                errors["threshold"] = (
                    f"The threshold is a percentage above 0 and at most {MAX_THRESHOLD}."
                )
        if self.kind == Kind.EXPECTED_VALUE_DROP:
            if self.threshold is None:
                errors["threshold"] = "Say by how many percent the expected value must fall."
            elif not 0 < self.threshold <= 100:
                errors["threshold"] = "A fall is a percentage above 0 and at most 100."
        if self.kind == Kind.VALUABLE_TO_LAPSED and self.min_customers is None:
            errors["min_customers"] = "Say how many customers must move before an alert."
        if errors:
            raise ValidationError(errors)
        # The settings of another kind mean nothing: keep none, so the list shows no noise.
        if self.kind not in (Kind.SEGMENT_SIZE_CHANGE, Kind.EXPECTED_VALUE_DROP):
            self.threshold = None
        if self.kind != Kind.VALUABLE_TO_LAPSED:
            self.min_customers = None
        self.recipients = ", ".join(parse_recipients(self.recipients))

    @property
    def description(self) -> str:
        """The rule in words."""
        if self.kind == Kind.SEGMENT_SIZE_CHANGE:
            return f"A segment grows or shrinks by more than {self.threshold:g}%"
        if self.kind == Kind.VALUABLE_TO_LAPSED:
            return (
                f"More than {self.min_customers} customers move from a valuable segment "
                "to a lapsed one"
            )
        if self.kind == Kind.EXPECTED_VALUE_DROP:
            return f"The customers' expected value ahead falls by more than {self.threshold:g}%"
        return "A scheduled run fails"

    @property
    def recipient_list(self) -> list[str]:
        return parse_recipients(self.recipients)


class Alert(models.Model):
    """One firing of a rule: what happened, in words, until a member acknowledges it."""

    Kind = Kind

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")
    rule = models.ForeignKey(
        AlertRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    message = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    publication = models.ForeignKey(
        "clustering.Publication",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    run = models.ForeignKey(
        "clustering.SegmentationRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    mailed_to = models.TextField(blank=True, help_text="Who the e-mail went to.")
    mail_error = models.TextField(blank=True, help_text="Why the e-mail was not sent.")
    mail_attempts = models.PositiveSmallIntegerField(
        default=0, help_text="How many times sending the e-mail was tried."
    )
    mail_next_attempt_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=(
            "When the e-mail is (next) tried: set while it waits to be sent or after a "
            "refusal the mail server may get over; empty once sent or refused for good."
        ),
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    WORKSPACE_PATH = "workspace"
    objects = ScopedManager()
    unscoped = UnscopedManager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["workspace", "acknowledged_at"], name="alert_open_idx"),
            # the reaper's sweep for e-mails whose message was lost
            models.Index(
                fields=["mail_next_attempt_at"],
                name="alert_mail_due_idx",
                condition=models.Q(mail_next_attempt_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.message

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None


class PublicationCheck(models.Model):
    """A publication's check against the workspace's rules: queued once the publication
    commits, done once by a worker (alerts.tasks.check_publication), so publishing never
    waits for the movements or a mail server (docs/decisions/alerts-on-publication.md)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")
    publication = models.OneToOneField(
        "clustering.Publication", on_delete=models.CASCADE, related_name="+"
    )
    #: when its task was last sent (the reaper sends it again if no worker took it)
    queued_at = models.DateTimeField()
    checked_at = models.DateTimeField(null=True, blank=True)
    rules_checked = models.PositiveIntegerField(default=0)
    alerts_raised = models.PositiveIntegerField(default=0)

    WORKSPACE_PATH = "workspace"
    objects = ScopedManager()
    unscoped = UnscopedManager()

    class Meta:
        ordering = ["-queued_at", "-pk"]

    def __str__(self) -> str:
        return f"Check of publication {self.publication_id}"

    @property
    def is_done(self) -> bool:
        return self.checked_at is not None
