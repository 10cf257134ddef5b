"""Issue 22: each member's fit in words and own activity (segment page, customer lookup), the
members CSV a marketing tool can take (units, rounding, segment name and action, contact
fields for those allowed to see personal data) and its audit entry with the row count."""

from __future__ import annotations

import csv
import html as html_text
import io
import re

import pytest
from django.urls import reverse
from django.utils.html import escape

from audit.models import AuditEntry
from clustering.models import Segment, SegmentAssignment, SegmentationRun
from customers.models import Customer

pytestmark = pytest.mark.django_db

RHYTHM = {"active_days": 60, "lapsed_days": 180, "repeat_customers": 100, "basis": "test"}


def biggest_segment(run) -> Segment:
    return Segment.unscoped.filter(run=run).order_by("-size").first()


def csv_rows(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def csv_url(segment) -> str:
    return reverse("clustering:segment-members-csv", args=[segment.run_id, segment.number])


def lapsed_member_of_an_active_segment(site) -> SegmentAssignment:
    """A member of the biggest segment, the segment named for active customers and the
    member silent for 373 days (customer 17850 of Online Retail, in issue 22)."""
    SegmentationRun.unscoped.filter(pk=site.published.pk).update(activity_rhythm=RHYTHM)
    segment = biggest_segment(site.published)
    Segment.unscoped.filter(pk=segment.pk).update(activity="active")
    member = SegmentAssignment.unscoped.filter(segment=segment).order_by("pk").first()
    SegmentAssignment.unscoped.filter(pk=member.pk).update(recency_days=373.0)
    return SegmentAssignment.unscoped.select_related("customer", "segment").get(pk=member.pk)


def test_the_run_stores_each_members_runner_up_another_segment(site):
    members = SegmentAssignment.unscoped.filter(run=site.published).select_related("segment")
    numbers = set(Segment.unscoped.filter(run=site.published).values_list("number", flat=True))
    # K-Means or a Gaussian mixture (the site's run): always a second-nearest segment
    assert all(m.runner_up_number in numbers for m in members)
    assert all(m.runner_up_number != m.segment.number for m in members)


def test_segment_page_says_each_members_fit_in_words_not_a_percentage(site, client_for):
    segment = biggest_segment(site.published)
    html = client_for("marketing").get(segment.get_absolute_url()).content.decode()
    cells = re.findall(r'<td data-fit="(\w*)" class="fit">(.*?)</td>', html)
    assert cells  # one per member on the page
    names = set(Segment.unscoped.filter(run=site.published).values_list("name", flat=True))
    for level, shown in cells:
        words = html_text.unescape(re.sub(r"<[^>]+>", " ", shown)).split()
        assert "%" not in shown
        assert level in {"typical", "clear", "borderline"} and words[0] == level
        if level == "typical":
            assert words == ["typical"]
        elif level == "borderline":
            assert words[1:4] == ["also", "close", "to"]
            assert " ".join(words[4:]) in names - {segment.name}
        else:  # the segment it is next closest to, on a line of its own
            assert words[1:3] == ["next", "closest:"]
            assert " ".join(words[3:]) in names - {segment.name}
    assert ">Fit<" in html  # the column, sortable by the confidence behind it


def test_borderline_member_names_the_runner_up_segment(site, client_for):
    segment = biggest_segment(site.published)
    member = SegmentAssignment.unscoped.filter(segment=segment).select_related("customer").first()
    other = Segment.unscoped.filter(run=site.published).exclude(pk=segment.pk).first()
    SegmentAssignment.unscoped.filter(pk=member.pk).update(
        confidence=0.01, runner_up_number=other.number
    )
    page = client_for("marketing").get(
        segment.get_absolute_url(), {"q": member.customer.external_id}
    )
    assert (
        f'<td data-fit="borderline" class="fit">borderline<br><span class="help">also close to '
        f"{escape(other.name)}</span></td>" in page.content.decode()
    )


def test_a_lapsed_member_of_an_active_segment_is_flagged_on_both_pages(site, client_for):
    member = lapsed_member_of_an_active_segment(site)
    client = client_for("marketing")
    html = client.get(
        member.segment.get_absolute_url(), {"q": member.customer.external_id}
    ).content.decode()
    warning = (
        "Last bought 373 days before the run's date: lapsed by this shop's rhythm "
        "(more than 180 days), yet the segment is named for active customers."
    )
    warning = escape(warning)
    assert f'<span class="status warn" data-role="activity-warning">{warning}</span>' in html
    assert 'data-role="activity-warnings">1 member on this page does not behave' in html
    assert 'data-activity="lapsed"' in html

    lookup = client.get(
        reverse("customer-lookup"), {"customer_id": member.customer.external_id}
    ).content.decode()
    assert f'<p class="message warning" data-role="activity-warning">{warning}</p>' in lookup
    assert "373 days before the segmentation's date" in lookup
    assert "<strong>lapsed</strong> by this shop's rhythm" in lookup
    assert "confidence" not in lookup.split('id="history-heading"')[0].lower()


def test_an_active_member_of_an_active_segment_has_no_warning(site, client_for):
    member = lapsed_member_of_an_active_segment(site)
    SegmentAssignment.unscoped.filter(pk=member.pk).update(recency_days=10.0)
    html = (
        client_for("marketing")
        .get(member.segment.get_absolute_url(), {"q": member.customer.external_id})
        .content.decode()
    )
    assert 'data-activity="active"' in html
    assert "activity-warning" not in html


def test_members_csv_has_units_rounding_segment_name_and_action_on_every_row(site, client_for):
    member = lapsed_member_of_an_active_segment(site)
    segment = member.segment
    rows = csv_rows(client_for("marketing").get(csv_url(segment)))
    assert len(rows) == segment.size
    header = list(rows[0])
    assert "Total spend (GBP)" in header and "Average basket (GBP)" in header
    assert "Days since last purchase" in header and "Return rate (%)" in header
    assert any(h.startswith("Expected value, ") and h.endswith("(GBP)") for h in header)
    assert "E-mail" not in header and "Name" not in header  # marketing: no personal data
    assert {r["Segment"] for r in rows} == {segment.name}
    assert {r["Recommended action"] for r in rows} == {segment.action}
    for row in rows:
        assert re.fullmatch(r"-?\d+(\.\d{1,2})?", row["Total spend (GBP)"])
        assert re.fullmatch(r"\d+", row["Days since last purchase"])
        assert row["Fit"].split(":")[0].split(",")[0] in {
            "typical member",
            "clear member",
            "borderline",
        }
    by_id = {r["Customer id"]: r for r in rows}
    flagged = by_id[member.customer.external_id]
    assert flagged["Activity"] == "lapsed"
    assert "named for active customers" in flagged["Activity warning"]
    assert flagged["Days since last purchase"] == "373"
    assert float(flagged["Total spend (GBP)"]) == round(member.monetary_total, 2)
    last = member.customer.last_purchase_at
    assert flagged["Last purchase"] == (last.date().isoformat() if last else "")


def test_contact_fields_only_for_roles_allowed_to_see_personal_data(site, client_for):
    segment = biggest_segment(site.published)
    member = SegmentAssignment.unscoped.filter(segment=segment).select_related("customer").first()
    Customer.unscoped.filter(pk=member.customer_id).update(
        email="ada@example.com", name="=Ada Lovelace"
    )
    customer_id = member.customer.external_id
    lookup = reverse("customer-lookup")
    for role, allowed in (("marketing", False), ("manager", True), ("admin", True)):
        client = client_for(role)
        rows = csv_rows(client.get(csv_url(segment)))
        assert ("E-mail" in rows[0]) is allowed, role
        page = client.get(segment.get_absolute_url(), {"q": customer_id}).content.decode()
        assert ("ada@example.com" in page) is allowed, role
        found = client.get(lookup, {"customer_id": customer_id}).content.decode()
        assert ("mailto:ada@example.com" in found) is allowed, role
        if allowed:
            row = next(r for r in rows if r["Customer id"] == customer_id)
            assert (row["E-mail"], row["Name"]) == ("ada@example.com", "'=Ada Lovelace")
            assert '<th scope="col">E-mail</th>' in page
            # a page whose members have no contact details has no empty contact columns
            other = (
                SegmentAssignment.unscoped.filter(segment=segment, customer__email="")
                .values_list("customer__external_id", flat=True)
                .first()
            )
            page = client.get(segment.get_absolute_url(), {"q": other}).content.decode()
            assert other in page and '<th scope="col">E-mail</th>' not in page, role


def test_every_members_export_is_logged_with_its_row_count(site, client_for):
    segment = biggest_segment(site.published)
    client = client_for("marketing")
    before = AuditEntry.unscoped.count()
    csv_rows(client.get(csv_url(segment)))
    entry = AuditEntry.unscoped.order_by("-pk").first()
    assert AuditEntry.unscoped.count() == before + 1
    assert entry.action == "members_exported"
    assert entry.details == {
        "what": "one segment's members",
        "rows": segment.size,
        "contact_details": False,
    }
    manager = client_for("manager")
    rows = csv_rows(manager.get(reverse("clustering:run-assignments-csv", args=[segment.run_id])))
    entry = AuditEntry.unscoped.order_by("-pk").first()
    assert entry.details == {
        "what": "every segment's members",
        "rows": len(rows),
        "contact_details": True,
    }
    assert len(rows) == site.published.n_customers
    assert {r["Segment"] for r in rows} == set(
        Segment.unscoped.filter(run=site.published).values_list("name", flat=True)
    )


def test_profile_amounts_carry_the_currency(site, client_for):
    segment = biggest_segment(site.published)
    html = client_for("marketing").get(segment.get_absolute_url()).content.decode()
    row = re.search(r'<tr data-feature="monetary_total"[^>]*>(.*?)</tr>', html, re.S).group(1)
    assert row.count("£") == 3  # median, mean, all customers' mean
    # Days are whole days, never "61.43": median, mean and all customers' mean.
    gap = re.search(r'<tr data-feature="recency_days"[^>]*>(.*?)</tr>', html, re.S).group(1)
    cells = re.findall(r'<td class="num">([^<]*)</td>', gap)[:3]
    assert len(cells) == 3 and all(re.fullmatch(r"[\d,]+", c) for c in cells), cells
    run_html = client_for("manager").get(site.published.get_absolute_url()).content.decode()
    profiles = run_html.split('id="profiles-heading"')[1].split("</table>")[0]
    assert "£" in profiles


def test_the_members_api_says_fit_activity_and_contact_as_the_pages_do(site, client_for):
    member = lapsed_member_of_an_active_segment(site)
    other = Segment.unscoped.filter(run=site.published).exclude(pk=member.segment_id).first()
    SegmentAssignment.unscoped.filter(pk=member.pk).update(
        confidence=0.01, runner_up_number=other.number
    )
    Customer.unscoped.filter(pk=member.customer_id).update(
        email="ann@example.com", name="Ann Smith"
    )
    url = reverse("api-segment-members", kwargs={"number": member.segment.number})

    def row(role: str) -> dict:
        page = client_for(role).get(url, {"page_size": 5000})
        assert page.status_code == 200
        rows = {r["customer_id"]: r for r in page.json()["results"]}
        assert all(r["fit"] for r in rows.values())
        return rows[member.customer.external_id]

    seen = row("marketing")
    assert seen["fit"] == f"borderline: also close to {other.name}"
    assert seen["runner_up"] == other.name
    assert seen["activity"] == "lapsed"
    assert "373 days" in seen["activity_warning"]
    assert seen["contact"] is None  # marketing may not see personal data
    assert row("manager")["contact"] == {"email": "ann@example.com", "name": "Ann Smith"}
