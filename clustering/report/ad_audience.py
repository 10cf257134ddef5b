"""A segment's members as an ad platform's customer list: one column, "Email", of each
member's address trimmed, lower-cased and hashed with SHA-256, the form Google Ads' Customer
Match and Meta's custom audiences take (docs/decisions/ad-audience-export.md). Members
without an address are left out; two members sharing one give one row (the database
keeps each address once and counts them; the file streams). For a segment's
members (their assignments) or the customers behind a movement."""

from __future__ import annotations

import hashlib

from django.db.models import QuerySet
from django.db.models.functions import Lower, Trim
from django.http import HttpResponse

from audit.log import record_members_exported
from common.csv_export import csv_response

AD_AUDIENCE_HEADER = ["Email"]


def hashed_email(address: str) -> str:
    """SHA-256 of the address as both platforms normalise it before hashing."""
    return hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()


def addresses(rows: QuerySet, *, through: str = "") -> QuerySet:
    """The distinct e-mail addresses, trimmed and lower-cased by the database, of a
    queryset's customers that have one: customers themselves, or rows that reach them
    `through` a field (a segment's assignments: "customer")."""
    path = f"{through}__" if through else ""
    return (
        rows.exclude(**{f"{path}email": ""})
        .values_list(Lower(Trim(f"{path}email")), flat=True)
        .order_by(Lower(Trim(f"{path}email")))
        .distinct()
    )


def ad_audience_response(
    request, *, emails: QuerySet, target, what: str, filename: str
) -> HttpResponse:
    """The download of the `emails` (addresses()) as the hashed list, streamed and logged
    like every export of customers, with how many it held."""
    record_members_exported(
        request=request,
        target=target,
        what=f"{what}: hashed e-mails for ad platforms",
        rows=emails.count(),
        personal=True,
    )
    rows = ([hashed_email(address)] for address in emails.iterator(chunk_size=2000))
    return csv_response(filename, AD_AUDIENCE_HEADER, rows)
