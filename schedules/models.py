"""A workspace's scheduled refresh: when its segmentation is re-run on new data, and the
guards a scheduled run must pass to publish itself (docs/decisions/schedules.md)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django_celery_beat.models import PeriodicTask
from django_celery_beat.validators import crontab_validator

from workspaces.models import Workspace
from workspaces.scoping import ScopedManager, UnscopedManager


def validate_cron_expression(value: str) -> None:
    """Five cron fields (minute hour day-of-month month day-of-week), as beat reads them."""
    fields = value.split()
    if len(fields) != 5:
        raise ValidationError(
            f"{value!r} is not a cron expression: it needs five fields (minute, hour, "
            f"day of month, month, day of week), e.g. '30 6 * * 1', and has {len(fields)}."
        )
    try:
        crontab_validator(value)
    except ValidationError as error:
        raise ValidationError(
            f"{value!r} is not a valid cron expression: {error.messages[0]}"
        ) from error


class Schedule(models.Model):
    class Frequency(models.TextChoices):
        DAILY = "daily", "Every day"
        WEEKLY = "weekly", "Every week"
        MONTHLY = "monthly", "Every month"
        CRON = "cron", "Cron expression"

    class Weekday(models.IntegerChoices):
        # cron's numbering (0 is Sunday), so the value goes to beat as it is
        MONDAY = 1, "Monday"
        TUESDAY = 2, "Tuesday"
        WEDNESDAY = 3, "Wednesday"
        THURSDAY = 4, "Thursday"
        FRIDAY = 5, "Friday"
        SATURDAY = 6, "Saturday"
        SUNDAY = 0, "Sunday"

    class Stability(models.TextChoices):
        # the engine's verdicts (clustering.engine.types.STABILITY_WORDS), not a number of ours
        STABLE = "stable", "Stable (the engine's verdict)"
        MODERATE = "moderate", "At least moderately stable"
        ANY = "any", "Not checked"

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="+")
    enabled = models.BooleanField(default=False)
    frequency = models.CharField(max_length=16, choices=Frequency.choices, default=Frequency.WEEKLY)
    hour = models.PositiveSmallIntegerField(
        default=6, validators=[MaxValueValidator(23)], help_text="In the workspace's time zone."
    )
    minute = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(59)])
    day_of_week = models.PositiveSmallIntegerField(
        choices=Weekday.choices, default=Weekday.MONDAY, help_text="For a weekly schedule."
    )
    day_of_month = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(28)],
        help_text="For a monthly schedule: 1 to 28, so that every month has the day.",
    )
    cron_expression = models.CharField(
        max_length=120,
        blank=True,
        validators=[validate_cron_expression],
        help_text="For a cron schedule: minute hour day-of-month month day-of-week, in the "
        "workspace's time zone, e.g. '30 6 * * 1' (Mondays at 06:30).",
    )

    # The guards a scheduled run passes to publish itself (schedules.guards).
    min_stability = models.CharField(
        max_length=16, choices=Stability.choices, default=Stability.STABLE
    )
    same_segment_count = models.BooleanField(
        default=True,
        help_text="A run with a different number of segments than the published one waits "
        "for a manager.",
    )
    max_member_loss = models.FloatField(
        default=0.30,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="No segment of the published run may lose more than this share of its "
        "members to other segments.",
    )

    periodic_task = models.OneToOneField(
        PeriodicTask, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    last_outcome = models.TextField(
        blank=True, help_text="What the last firing did, or why it did not start a run."
    )
    last_fired_at = models.DateTimeField(null=True, blank=True)

    WORKSPACE_PATH = "workspace"
    objects = ScopedManager()
    unscoped = UnscopedManager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_member_loss__gte=0) & models.Q(max_member_loss__lte=1),
                name="schedule_member_loss_is_share",
            ),
        ]

    def __str__(self) -> str:
        return f"Schedule of {self.workspace}"

    def clean(self) -> None:
        if self.frequency == self.Frequency.CRON and not self.cron_expression.strip():
            raise ValidationError(
                {"cron_expression": "A cron schedule needs a cron expression, e.g. '30 6 * * 1'."}
            )

    def crontab_fields(self) -> dict[str, str]:
        """minute, hour, day_of_month, month_of_year, day_of_week for beat's CrontabSchedule."""
        if self.frequency == self.Frequency.CRON:
            minute, hour, day_of_month, month, day_of_week = self.cron_expression.split()
            return {
                "minute": minute,
                "hour": hour,
                "day_of_month": day_of_month,
                "month_of_year": month,
                "day_of_week": day_of_week,
            }
        return {
            "minute": str(self.minute),
            "hour": str(self.hour),
            "day_of_month": str(self.day_of_month)
            if self.frequency == self.Frequency.MONTHLY
            else "*",
            "month_of_year": "*",
            "day_of_week": str(self.day_of_week)
            if self.frequency == self.Frequency.WEEKLY
            else "*",
        }

    def describe(self) -> str:
        """When it fires, in words."""
        at = f"{self.hour:02d}:{self.minute:02d}"
        if self.frequency == self.Frequency.DAILY:
            return f"every day at {at}"
        if self.frequency == self.Frequency.WEEKLY:
            return f"every {self.get_day_of_week_display()} at {at}"
        if self.frequency == self.Frequency.MONTHLY:
            return f"on day {self.day_of_month} of every month at {at}"
        return f"at the times of the cron expression '{self.cron_expression}'"
