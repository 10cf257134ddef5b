"""A member's own activity is judged as their segment's name was. Where the purchase model
validated and P(alive) named a segment's activity, a repeat buyer is active, cooling or lapsed
by their P(alive) on the members list, its CSV, the audience filter, the API and the customer
lookup, as the segment's shares counted them; one-time buyers, and segments named by days,
keep the days. Before, the members list judged everyone by days: a segment named "Champions"
by P(alive) listed members silent a few weeks as "lapsed", with a warning that contradicted
the name the segment had been given by the same figures."""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from django.urls import reverse

from clustering.engine.activity import (
    P_ALIVE_LAPSED,
    ActivityRhythm,
    customer_status,
)
from clustering.engine.synthetic import make_weekly_shop_lines
from clustering.engine.types import ACTIVITY_STATUSES
from clustering.models import Segment, SegmentAssignment, SegmentationRun
from clustering.report.audience import ACTIVITIES
from clustering.report.member_fit import activity_warning, customer_activity, member_fit

RHYTHM = {"active_days": 14.0, "lapsed_days": 28.0, "p_alive_active": 0.55}


# ---------------------------------------------------------------------- the rule, no database
def test_the_members_rule_is_the_engines_customer_by_customer():
    rng = np.random.default_rng(4)
    n = 400
    features = pd.DataFrame(
        {"recency_days": rng.uniform(0, 60, n)}, index=[f"c{i}" for i in range(n)]
    )
    p = rng.uniform(0, 1, n)
    p[::5] = 1.0  # one-time buyers: P(alive) 1 by the model's definition
    p[1::7] = np.nan  # left out of the value stage
    p_alive = pd.Series(p, index=features.index)
    rhythm = ActivityRhythm(14.0, 28.0, 100, "test", evidence="p_alive", p_alive_active=0.55)
    engine = [ACTIVITY_STATUSES[s] for s in customer_status(features, rhythm, p_alive)]
    report = [
        customer_activity(r, RHYTHM, p_alive=None if math.isnan(v) else v, evidence="p_alive")
        for r, v in zip(features["recency_days"], p, strict=True)
    ]
    assert report == engine
    assert len(set(report)) == 3


@pytest.mark.parametrize(
    ("rhythm", "evidence"),
    [
        (RHYTHM, "recency"),  # a segment the days named, in a run P(alive) named others in
        ({"active_days": 14.0, "lapsed_days": 28.0}, "p_alive"),  # stored before the cut
    ],
)
def test_days_judge_where_p_alive_did_not_name_the_segment(rhythm, evidence):
    assert customer_activity(40.0, rhythm, p_alive=0.95, evidence=evidence) == "lapsed"
    assert customer_activity(3.0, rhythm, p_alive=0.05, evidence=evidence) == "active"


def in_champions(recency_days: float, p_alive: float):
    """A member's fit in a segment named "active" by P(alive)."""
    return member_fit(
        confidence=0.9,
        runner_up_number=None,
        recency_days=recency_days,
        algorithm="kmeans",
        segment_names={},
        segment_activity="active",
        rhythm=RHYTHM,
        p_alive=p_alive,
        evidence="p_alive",
    )


def test_a_warning_by_p_alive_quotes_it_and_the_models_cut():
    quiet_champion = in_champions(3.0, 0.12)
    assert quiet_champion.activity == "lapsed" and quiet_champion.activity_by == "p_alive"
    assert quiet_champion.warning == (
        f"P(alive) 12%: lapsed by the purchase model (below {P_ALIVE_LAPSED:.0%}), yet the "
        "segment is named for active customers."
    )
    assert activity_warning(
        "active", 40.0, "lapsed", RHYTHM, p_alive=0.81, basis="p_alive"
    ).startswith("P(alive) 81%: active by the purchase model (from 55%)")
    # silent 40 days but likely still a customer: no contradiction with "active", and the
    # list says what the days alone would have said
    likely = in_champions(40.0, 0.9)
    assert likely.activity == "active" and not likely.warning
    assert likely.by_days_otherwise == "lapsed"
    assert in_champions(3.0, 0.9).by_days_otherwise == ""  # the two agree
    assert quiet_champion.by_days_otherwise == "active"


# ------------------------------------------------------- a shop the purchase model validates
@pytest.fixture(scope="module")
def weekly(django_db_setup, django_db_blocker):
    """A shop of 600 weekly buyers (BG/NBD's own process: the model validates), segmented and
    published: some segments named by P(alive), some by days."""
    from django.contrib.auth import get_user_model

    from tests.clustering.factories import executed_run, load_transactions
    from tests.reports.site_data import _wipe
    from tests.shops import join, test_shop

    with django_db_blocker.unblock():
        _wipe()
        shop = test_shop()
        manager = get_user_model().objects.create_user("weekly-mgr", password="pw-weekly-1")
        join(manager, shop, "manager")
        load_transactions(make_weekly_shop_lines(600, seed=11))
        run = executed_run(
            shop, manager, {"algorithms": ["kmeans"], "k_min": 4, "k_max": 6, "seed": 1}
        )
        from clustering.services import run_publish

        run_publish(workspace=shop, run_id=run.pk, user=manager)
        try:
            yield SegmentationRun.unscoped.get(pk=run.pk)
        finally:
            _wipe()


def judged(segment: Segment) -> dict[str, str]:
    """Each member's activity, by the rule, from what the run stored."""
    rhythm, evidence = segment.run.activity_rhythm, segment.activity_evidence
    return {
        customer: customer_activity(recency, rhythm, p_alive=p_alive, evidence=evidence)
        for customer, recency, p_alive in SegmentAssignment.unscoped.filter(
            segment=segment
        ).values_list("customer__external_id", "recency_days", "p_alive")
    }


def segments(run) -> list[Segment]:
    return list(Segment.unscoped.filter(run=run).select_related("run").order_by("number"))


@pytest.mark.django_db
def test_the_run_keeps_the_cut_its_names_used(weekly):
    assert weekly.activity_rhythm["evidence"] == "p_alive"
    cut = weekly.activity_rhythm["p_alive_active"]
    assert (
        0.5 <= cut <= 0.8 and f"active from {cut:.0%}" in weekly.activity_rhythm["evidence_basis"]
    )
    evidences = {s.activity_evidence for s in segments(weekly)}
    assert "p_alive" in evidences, "no segment of this shop was named by P(alive)"


@pytest.mark.django_db
def test_the_members_activities_add_up_to_the_segments_shares(weekly, client_for):
    """What the API lists for each member is what the segment's name was counted from."""
    client = client_for("marketing")
    differ: Counter[str] = Counter()
    for segment in segments(weekly):
        url = reverse("api-segment-members", kwargs={"number": segment.number})
        rows = client.get(url, {"page_size": 5000}).json()["results"]
        assert len(rows) == segment.size
        counts = Counter(r["activity"] for r in rows)
        shares = {s: counts[s] / segment.size for s in ACTIVITY_STATUSES}
        assert shares == pytest.approx(segment.activity_shares, abs=1e-9), segment.name
        judged_by = {r["activity_by"] for r in rows}
        if segment.activity_evidence == "p_alive":
            assert "p_alive" in judged_by and judged_by <= {"p_alive", "days"}
        else:
            assert judged_by == {"days"}
        by_days = [customer_activity(r["recency_days"], weekly.activity_rhythm) for r in rows]
        differ[segment.activity_evidence] += sum(
            d != r["activity"] for d, r in zip(by_days, rows, strict=True)
        )
    # P(alive) judged members the days would have judged otherwise, and only where it named
    assert differ["p_alive"] > 0 and differ["recency"] == 0, differ


@pytest.mark.django_db
def test_the_audience_page_csv_and_api_keep_the_same_members(weekly, client_for):
    client = client_for("marketing")
    segment = next(s for s in segments(weekly) if s.activity_evidence == "p_alive")
    members = judged(segment)
    for activity in ACTIVITIES:
        wanted = {c for c, a in members.items() if a == activity}
        api = client.get(
            reverse("api-segment-members", kwargs={"number": segment.number}),
            {"activity": activity, "page_size": 5000},
        ).json()["results"]
        assert {r["customer_id"] for r in api} == wanted, activity
        response = client.get(
            reverse("clustering:segment-members-csv", args=[segment.run_id, segment.number]),
            {"activity": activity},
        )
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert {r["Customer id"] for r in rows} == wanted
        assert {r["Activity"] for r in rows} <= {activity}
        by_api = {r["customer_id"]: r["activity_by"] for r in api}
        words = {"p_alive": "P(alive)", "days": "days since the last purchase"}
        assert {r["Customer id"]: r["Activity judged by"] for r in rows} == {
            c: words[by] for c, by in by_api.items()
        }
    html = client.get(segment.get_absolute_url(), {"activity": "active"}).content.decode()
    assert "judged as the segment's name was: by P(alive) for those who bought again" in html
    assert 'data-activity-by="p_alive"' in html
    # a member the days alone would call otherwise says so on their row
    rhythm = segment.run.activity_rhythm
    differing = [
        (customer, activity, customer_activity(recency, rhythm))
        for customer, recency, p_alive in SegmentAssignment.unscoped.filter(
            segment=segment
        ).values_list("customer__external_id", "recency_days", "p_alive")
        if (activity := members[customer]) != customer_activity(recency, rhythm)
    ]
    assert differing, "P(alive) and the days agree on every member of this segment"
    customer, activity, by_days = differing[0]
    row = client.get(segment.get_absolute_url(), {"q": customer}).content.decode()
    cell = re.search(r'<td data-activity="\w*" data-activity-by="p_alive">(.*?)</td>', row, re.S)
    assert f"· {activity} by P(alive)" in cell.group(1)
    assert f"({by_days} by days)" in cell.group(1)
    lookup = client.get(reverse("customer-lookup"), {"customer_id": customer}).content.decode()
    assert f"<strong>{activity}</strong> by P(alive)" in lookup
    assert f"({by_days} by the days since the last purchase)" in lookup


@pytest.mark.django_db
def test_the_lookup_and_the_customer_api_say_p_alive_judged_the_customer(weekly, client_for):
    segment = next(s for s in segments(weekly) if s.activity_evidence == "p_alive")
    customer, recency, p_alive = (
        SegmentAssignment.unscoped.filter(segment=segment, p_alive__lt=1.0)
        .values_list("customer__external_id", "recency_days", "p_alive")
        .first()
    )
    activity = customer_activity(
        recency, weekly.activity_rhythm, p_alive=p_alive, evidence="p_alive"
    )
    client = client_for("marketing")
    html = client.get(reverse("customer-lookup"), {"customer_id": customer}).content.decode()
    assert f"<strong>{activity}</strong> by P(alive)" in html
    body = client.get(reverse("api-customer", args=[customer])).json()
    assert body["segment"]["activity"] == activity
    assert body["segment"]["activity_by"] == "p_alive"
