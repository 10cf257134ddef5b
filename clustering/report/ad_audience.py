"""A segment's members as an ad platform's customer list: one column, "Email", of each
member's address trimmed, lower-cased and hashed with SHA-256, the form Google Ads' Customer
Match and Meta's custom audiences take (docs/decisions/ad-audience-export.md). Members
without an address are left out; two members sharing one give one row. For a segment's
members (their assignments) or the customers behind a movement."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet
from django.http import HttpResponse

from audit.log import record_members_exported
from common.csv_export import csv_response

AD_AUDIENCE_HEADER = ["Email"]


def hashed_email(address: str) -> str:
    """SHA-256 of the address as both platforms normalise it before hashing."""
    return hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()


def ad_audience_rows(emails: Iterable[str]) -> Iterator[list[str]]:
    """A row per distinct address."""
    seen: set[str] = set()
    for address in emails:
        digest = hashed_email(address)
        if digest not in seen:
            seen.add(digest)
            yield [digest]


def addresses(rows: QuerySet, *, through: str = "") -> Iterator[str]:
    """The e-mail addresses of a queryset's customers that have one: customers themselves,
    or rows that reach them `through` a field (a segment's assignments: "customer")."""
    path = f"{through}__" if through else ""
    return (
        rows.exclude(**{f"{path}email": ""})
        .order_by(f"{path}external_id")
        .values_list(f"{path}email", flat=True)
        .iterator(chunk_size=2000)
    )


def ad_audience_response(
    request, *, emails: Iterator[str], target, what: str, filename: str
) -> HttpResponse:
    """The download of the `emails` (addresses()) as the hashed list, logged like every
    export of customers, with what it held."""
    rows = list(ad_audience_rows(emails))
    record_members_exported(
        request=request,
        target=target,
        what=f"{what}: hashed e-mails for ad platforms",
        rows=len(rows),
        personal=True,
    )
    return csv_response(filename, AD_AUDIENCE_HEADER, rows)
