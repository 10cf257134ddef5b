"""A workspace is one shop or brand: it owns its customers, lines, imports, runs, tokens
and members, and nothing is read across workspaces (workspaces/scoping.py)."""

import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models

from .currencies import CURRENCY_CHOICES, currency_symbol


def validate_time_zone(name: str) -> None:
    if name not in zoneinfo.available_timezones():
        raise ValidationError(f"{name!r} is not a time zone name such as Europe/London.")


class Workspace(models.Model):
    class DateOrder(models.TextChoices):
        AUTO = "", "Detect (ask when ambiguous)"
        ISO = "iso", "ISO (year-month-day)"
        DAYFIRST = "dayfirst", "Day first (31/12/2024)"
        MONTHFIRST = "monthfirst", "Month first (12/31/2024)"

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(
        max_length=50,
        unique=True,
        help_text="Its part of the address: /w/<slug>/. Changing it breaks shared links.",
    )
    currency = models.CharField(
        max_length=3,
        choices=CURRENCY_CHOICES,
        default="GBP",
        help_text="The currency of the shop's amounts; pages and exports show its symbol.",
    )
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="The time zone of the shop's file times that carry no offset (IANA name).",
    )
    date_order = models.CharField(
        max_length=12,
        choices=DateOrder.choices,
        blank=True,
        help_text="How the shop's files write dates, when a file does not make it clear.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"/w/{self.slug}/"

    @property
    def currency_symbol(self) -> str:
        return currency_symbol(self.currency)
