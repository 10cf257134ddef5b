"""A workspace is one shop or brand: it owns its customers, lines, imports, runs, tokens
and members, and nothing is read across workspaces (workspaces/scoping.py)."""

import secrets
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from transaction_files.code_pages import CODE_PAGE_CHOICES, DEFAULT_CODE_PAGE
from transaction_files.placeholders import id_list, is_placeholder

from .currencies import CURRENCY_CHOICES, currency_marks, currency_symbol


def validate_kept_ids(text: str) -> None:
    """Only ids an import would skip as standing for no customer are worth keeping."""
    imported = [value for value in id_list(text) if not is_placeholder(value)]
    if imported:
        listed = ", ".join(f"“{value}”" for value in imported)
        raise ValidationError(
            f"{listed} {'is' if len(imported) == 1 else 'are'} imported anyway: list only ids "
            "an import skips as standing for no customer, such as “Guest” or “0”."
        )


def site_time_zone() -> str:
    """A new shop's zone until an admin says otherwise: the site's, as the default
    workspace's (its runs count days and its pages show times in it)."""
    return settings.TIME_ZONE


def new_pseudonym_key() -> str:
    return secrets.token_hex(32)


def time_zone_choices() -> list[tuple[str, str]]:
    """Every IANA zone name, sorted, each with its words ("America/New York")."""
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


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
        default=site_time_zone,
        validators=[validate_time_zone],
        help_text="The shop's time zone (IANA name): its files' times that carry no offset are "
        "read in it, its runs count days in it and its pages show times in it.",
    )
    date_order = models.CharField(
        max_length=12,
        choices=DateOrder.choices,
        blank=True,
        help_text="How the shop's files write dates, when a file does not make it clear.",
    )
    code_page = models.CharField(
        max_length=16,
        choices=CODE_PAGE_CHOICES,
        default=DEFAULT_CODE_PAGE,
        help_text="What the shop's files that are not UTF-8 are written in: the code page "
        "Excel on Windows saves CSV files in where the shop is.",
    )
    customer_ids_kept = models.CharField(
        "Customer ids to keep",
        max_length=500,
        blank=True,
        validators=[validate_kept_ids],
        help_text="Ids that look like they stand for no customer (“Guest”, “0”) but are real "
        "customers of this shop: their lines are imported. Separate them with commas.",
    )
    # Keys the pseudonyms of customer ids that are e-mail addresses (transaction_files/
    # pseudonyms.py): one per shop, never shown, so the same address is one customer in
    # every file of the shop and cannot be found from the id elsewhere.
    pseudonym_key = models.CharField(max_length=64, default=new_pseudonym_key, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"/w/{self.slug}/"

    def lock(self) -> None:
        """Hold this workspace's row until the transaction ends: writers of a setting kept
        once per workspace (its schedule, a playbook name's action) take turns, so the second
        of two first saves updates the row the first created instead of failing on the
        unique constraint. (SQLite's immediate transactions already take turns.)"""
        list(Workspace.objects.select_for_update().filter(pk=self.pk).values_list("pk", flat=True))

    @property
    def currency_symbol(self) -> str:
        return currency_symbol(self.currency)

    @property
    def kept_customer_ids(self) -> frozenset[str]:
        """The ids its imports keep though they look like placeholders."""
        return frozenset(id_list(self.customer_ids_kept))

    @property
    def currency_marks(self) -> frozenset[str]:
        """What its files' amounts may be written with ("£", "GBP"); others are refused."""
        return currency_marks(self.currency)
