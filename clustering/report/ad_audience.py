"""A segment's members as an ad platform's customer list: one column, "Email", of each
member's address trimmed, lower-cased and hashed with SHA-256, the form Google Ads' Customer
Match and Meta's custom audiences take (docs/decisions/ad-audience-export.md). Members
without an address are left out; two members sharing one give one row. For a segment's
members (their assignments) or the customers behind a movement."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet

AD_AUDIENCE_HEADER = ["Email"]


def hashed_email(address: str) -> str:
    """SHA-256 of the address as both platforms normalise it before hashing."""
    return hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()


def ad_audience_rows(addresses: Iterable[str]) -> Iterator[list[str]]:
    """A row per distinct address (member_addresses, customer_addresses)."""
    seen: set[str] = set()
    for address in addresses:
        digest = hashed_email(address)
        if digest not in seen:
            seen.add(digest)
            yield [digest]


def member_addresses(assignments: QuerySet) -> Iterator[str]:
    """The e-mail addresses of the assignments' customers that have one."""
    return (
        assignments.exclude(customer__email="")
        .order_by("customer__external_id")
        .values_list("customer__email", flat=True)
        .iterator(chunk_size=2000)
    )


def customer_addresses(customers: QuerySet) -> Iterator[str]:
    """The e-mail addresses of the customers that have one."""
    return (
        customers.exclude(email="")
        .order_by("external_id")
        .values_list("email", flat=True)
        .iterator(chunk_size=2000)
    )
