"""A segment's members as an ad platform's customer list: each member's e-mail trimmed,
lower-cased and hashed with SHA-256 under one "Email" column, for the audience on the page;
only for those who may see personal data, logged like every export."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from clustering.models import Segment, SegmentAssignment
from clustering.report.ad_audience import hashed_email
from customers.models import Customer

from .test_member_audience import csv_rows, expected, segment  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db


def test_an_address_is_hashed_as_the_platforms_normalise_it():
    # Google's and Meta's rule: trim, lower-case, then SHA-256 of the UTF-8 bytes.
    assert (
        hashed_email("  Ann.Lee@Example.COM ") == hashlib.sha256(b"ann.lee@example.com").hexdigest()
    )
    assert hashed_email("zoë@exämple.de") == hashlib.sha256("zoë@exämple.de".encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", hashed_email("a@b.c"))


def _give_addresses(segment: Segment) -> dict[str, str]:  # noqa: F811
    """Every member an address but two (one without, two sharing one); id -> address."""
    customers = list(
        SegmentAssignment.unscoped.filter(segment=segment)
        .order_by("pk")
        .values_list("customer_id", "customer__external_id")
    )
    addresses = {}
    for i, (pk, external_id) in enumerate(customers):
        address = "" if i == 0 else f" Member.{external_id}@Shop.Example "
        if i == 2:
            address = addresses[customers[1][1]].upper()  # the same person's second id
        Customer.unscoped.filter(pk=pk).update(email=address)
        addresses[external_id] = address
    return addresses


def test_the_file_holds_each_audience_members_hashed_address_once(segment, client_for):  # noqa: F811
    addresses = _give_addresses(segment)
    url = reverse("clustering:segment-ad-audience-csv", args=[segment.run_id, segment.number])
    response = client_for("manager").get(url, {"activity": "cooling", "country": "France"})
    assert response.status_code == 200
    assert "-cooling-france-ad-audience.csv" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert rows and set(rows[0]) == {"Email"}
    audience = expected(segment, "cooling", "France")
    wanted = {hashed_email(addresses[c]) for c in audience if addresses[c]}
    hashes = [r["Email"] for r in rows]
    assert len(hashes) == len(set(hashes)) and set(hashes) == wanted
    entry = AuditEntry.unscoped.order_by("-pk").first()
    assert (entry.action, entry.target_id) == ("members_exported", str(segment.pk))
    assert entry.details == {
        "what": "one segment's members (cooling, in France): hashed e-mails for ad platforms",
        "rows": len(wanted),
        "contact_details": True,
    }

    # The whole segment: one row per address, the member without one left out.
    whole = csv_rows(client_for("admin").get(url))
    everyone = {hashed_email(a) for a in addresses.values() if a}
    assert len(whole) == len(everyone) == len(addresses) - 2
    assert {r["Email"] for r in whole} == everyone


def test_only_who_may_see_personal_data_gets_it_and_the_page_offers_it_to_them(
    segment,  # noqa: F811
    client_for,
):
    url = reverse("clustering:segment-ad-audience-csv", args=[segment.run_id, segment.number])
    marketing = client_for("marketing")
    assert marketing.get(url).status_code == 403
    page = marketing.get(segment.get_absolute_url()).content.decode()
    assert "ad-audience-download" not in page and "Download all" in page

    manager = client_for("manager")
    # No member has an address yet: no list to offer.
    page = manager.get(segment.get_absolute_url(), {"activity": "lapsed"}).content.decode()
    assert "ad-audience-download" not in page
    _give_addresses(segment)
    page = manager.get(segment.get_absolute_url(), {"activity": "lapsed"}).content.decode()
    link = re.search(r'data-role="ad-audience-download" href="([^"]+)"', page)
    assert link and link.group(1).endswith("ad-audience.csv?activity=lapsed")
    refused = manager.get(url, {"activity": "sleepy"})
    assert refused.status_code == 400
    assert refused.content.decode().startswith("Activity must be one of active, cooling, lapsed")


def test_the_api_gives_the_published_segments_audience_the_same_way(segment, client_for):  # noqa: F811
    addresses = _give_addresses(segment)
    client = client_for("manager")
    path = f"/w/{segment.run.workspace.slug}/api/v1/segments/{segment.number}/ad-audience.csv"
    response = client.get(path, {"activity": "lapsed"})
    assert response.status_code == 200, response.content[:300]
    assert "ad-audience-lapsed.csv" in response["Content-Disposition"]
    rows = csv_rows(response)
    audience = expected(segment, "lapsed")
    assert {r["Email"] for r in rows} == {
        hashed_email(addresses[c]) for c in audience if addresses[c]
    }
    entry = AuditEntry.unscoped.order_by("-pk").first()
    assert (
        entry.details["what"] == "one segment's members (lapsed): hashed e-mails for ad platforms"
    )
    assert entry.details["rows"] == len(rows)
