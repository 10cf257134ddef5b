"""Segment pages: profile, rule, action, members (paginated, sorted, searched) and CSV."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse
from django.utils.html import escape

from clustering.models import Segment, SegmentAssignment
from clustering.report.charts import readable_rule
from clustering.report.members import MEMBERS_PER_PAGE
from customers.models import Customer

pytestmark = pytest.mark.django_db


def biggest_segment(run) -> Segment:
    return Segment.unscoped.filter(run=run).order_by("-size").first()


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_a_rules_amounts_carry_the_currency_and_its_counts_do_not():
    rule = (
        "frequency <= 1 and 12.5 < monetary_total <= 22.3 and avg_basket_value > -4.25 "
        "and recency_days >= 90"
    )
    assert readable_rule(rule, "£") == (
        "Orders ≤ 1 and £12.50 < Revenue ≤ £22.30 and Average basket > -£4.25 "
        "and Days since last purchase ≥ 90"
    )
    assert readable_rule(rule) == (
        "Orders ≤ 1 and 12.5 < Revenue ≤ 22.3 and Average basket > -4.25 "
        "and Days since last purchase ≥ 90"
    )
    assert readable_rule("monetary_total > 1,250", "CHF ") == "Revenue > CHF 1,250"


def test_segment_page_shows_profile_rule_action_and_members(site, client_for):
    segment = biggest_segment(site.published)
    html = client_for("marketing").get(segment.get_absolute_url()).content.decode()
    assert f"<h1>{segment.name}</h1>" in html
    assert segment.action in html and segment.rationale in html
    assert escape(readable_rule(segment.rule, "£")) in html
    assert "_" not in readable_rule(segment.rule)  # labels, not column names
    assert 'data-chart="lift"' in html and 'id="lift-data"' in html
    assert "Days since last purchase" in html  # the profile table
    assert f"Page 1 of {-(-segment.size // MEMBERS_PER_PAGE)}" in html
    assert html.count("customer_id=") == min(segment.size, MEMBERS_PER_PAGE)
    assert (
        reverse("clustering:segment-members-csv", args=[site.published.pk, segment.number]) in html
    )


def test_the_member_list_has_a_country_column_only_where_the_shop_records_countries(
    site, client_for
):
    segment = biggest_segment(site.published)
    client = client_for("marketing")
    assert segment.top_country
    html = client.get(segment.get_absolute_url()).content.decode()
    assert '<th scope="col">Country</th>' in html
    # a shop whose files give no country (CDNOW): no column of blanks
    Segment.unscoped.filter(pk=segment.pk).update(top_country="")
    html = client.get(segment.get_absolute_url()).content.decode()
    assert '<th scope="col">Country</th>' not in html
    assert html.count("customer_id=") == min(segment.size, MEMBERS_PER_PAGE)  # the rows stay


def test_the_profile_shows_all_customers_mean_where_it_is_zero(site, client_for):
    # a shop without returns: the engine leaves the lift out (0 / 0), the mean is still 0
    segment = biggest_segment(site.published)
    means, lift = dict(segment.means), dict(segment.lift)
    means["return_rate"], lift["return_rate"] = 0.0, None
    Segment.unscoped.filter(pk=segment.pk).update(means=means, lift=lift)
    html = client_for("marketing").get(segment.get_absolute_url()).content.decode()
    row = next(r for r in html.split("<tr") if ">Return rate</th>" in r)
    cells = re.findall(r'<td class="num">([^<]*)</td>', row)
    assert cells[1:] == ["0.0%", "0.0%", "—"]  # segment mean, all customers' mean, lift


def test_members_are_sorted_by_revenue_by_default_and_on_request(site, client_for):
    segment = biggest_segment(site.published)
    client = client_for("marketing")
    members = SegmentAssignment.unscoped.filter(segment=segment)
    richest = members.order_by("-monetary_total").values_list("customer__external_id", flat=True)
    html = client.get(segment.get_absolute_url()).content.decode()
    assert html.index(f">{richest[0]}</a>") < html.index(f">{richest[1]}</a>")
    assert 'aria-sort="descending"><a href="?sort=monetary&amp;dir=asc' in html
    by_id = members.order_by("customer__external_id").values_list(
        "customer__external_id", flat=True
    )
    html = client.get(segment.get_absolute_url(), {"sort": "customer", "dir": "asc"}).content
    html = html.decode()
    assert html.index(f">{by_id[0]}</a>") < html.index(f">{by_id[1]}</a>")
    assert 'aria-sort="ascending"' in html


def test_members_can_be_searched_by_customer_id_and_paged(site, client_for):
    segment = biggest_segment(site.published)
    client = client_for("marketing")
    one = SegmentAssignment.unscoped.filter(segment=segment).values_list(
        "customer__external_id", flat=True
    )[0]
    html = client.get(segment.get_absolute_url(), {"q": one}).content.decode()
    assert html.count("customer_id=") == 1 and f">{one}</a>" in html
    html = client.get(segment.get_absolute_url(), {"q": "no-such"}).content.decode()
    assert "No member's customer id starts with “no-such”" in html
    if segment.size > MEMBERS_PER_PAGE:
        html = client.get(segment.get_absolute_url(), {"page": 2}).content.decode()
        assert "Page 2 of" in html and 'rel="prev"' in html


def test_member_csv_has_every_member_and_neutralises_formula_cells(site, client_for):
    segment = biggest_segment(site.published)
    member = SegmentAssignment.unscoped.filter(segment=segment).select_related("customer").first()
    Customer.unscoped.filter(pk=member.customer_id).update(
        external_id="=HYPERLINK(1)", country="@SUM(A1)"
    )
    other = SegmentAssignment.unscoped.filter(segment=segment).exclude(pk=member.pk).first()
    Customer.unscoped.filter(pk=other.customer_id).update(external_id="+44", country="-x")
    response = client_for("marketing").get(
        reverse("clustering:segment-members-csv", args=[site.published.pk, segment.number])
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0][:5] == ["Customer id", "Country", "Segment", "Recommended action", "Fit"]
    assert len(rows) - 1 == segment.size
    by_id = {row[0]: row for row in rows[1:]}
    assert by_id["'=HYPERLINK(1)"][1] == "'@SUM(A1)"
    assert by_id["'+44"][1] == "'-x"
    assert not any(cell.startswith(("=", "+", "@")) for row in rows[1:] for cell in row[:2])


def test_member_csv_needs_the_export_permission(site, client_for):
    segment = biggest_segment(site.published)
    url = reverse("clustering:segment-members-csv", args=[site.published.pk, segment.number])
    assert client_for(None).get(url).status_code == 403


def test_marketing_sees_only_the_published_runs_segments(site, client_for):
    earlier = biggest_segment(site.earlier)
    assert client_for("marketing").get(earlier.get_absolute_url()).status_code == 403
    html = client_for("manager").get(earlier.get_absolute_url()).content.decode()
    assert "not published" in html


def test_unknown_segment_is_a_404(site, client_for):
    url = reverse("clustering:segment-detail", args=[site.published.pk, 99])
    assert client_for("marketing").get(url).status_code == 404


def test_segment_page_query_count(site, client_for, django_assert_max_num_queries):
    segment = biggest_segment(site.published)
    client = client_for("marketing")
    # the segment's countries for the audience filter are read once, then cached
    with django_assert_max_num_queries(11):
        client.get(segment.get_absolute_url(), {"sort": "recency", "page": 2})
    with django_assert_max_num_queries(10):
        client.get(segment.get_absolute_url(), {"sort": "recency", "page": 2})
