"""What a segment's name rests on, end to end: the engine's axes, why sentence and checked
conditions, the shop's rhythm, the stability verdict and the RFM grid's bin edges are stored
by the run, shown on the report, the segment page and the dashboard, and returned by the API.
A run stored before they existed (empty fields) still renders, showing nothing for them.

One run is executed for the module with the engine's result carrying these values (the
engine's own measures are tested in tests/clustering/engine; here the Django side must store
and show whatever the engine gives, so the result is completed where the engine left a
default). Tests read the values back from that result, not from literals.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from html import unescape

import pytest
from django.contrib.humanize.templatetags.humanize import intcomma
from django.db import transaction
from django.urls import reverse
from django.utils.html import escape

from clustering.engine.types import (
    ACTIVITY_LABELS,
    ACTIVITY_STATUSES,
    ACTIVITY_WORDS,
    ENGAGEMENT_TIERS,
    VALUE_TIERS,
    ActivityRhythm,
    NameCheck,
    Stability,
)
from clustering.models import Segment, SegmentationRun
from clustering.report.words import candidate_key_label
from reports.templatetags.report_format import money, num

pytestmark = pytest.mark.django_db

PARAMS = {"algorithms": ["kmeans", "gmm"], "k_min": 3, "k_max": 4, "seed": 7}
RHYTHM = ActivityRhythm(
    active_days=112.6,
    lapsed_days=225.2,
    repeat_customers=180,
    basis="4 in 5 repeat customers bought again within 113 days of their previous purchase.",
)


def _complete(result):
    """The engine's result with every new field given (kept where the engine filled it)."""
    labels = list(ACTIVITY_LABELS)
    profiles = []
    for i, p in enumerate(result.segments):
        activity = p.activity or labels[i % len(labels)]
        main, statuses = 0.96 - 0.01 * i, ACTIVITY_LABELS[activity]
        shares = {
            s: main / len(statuses) if s in statuses else (1 - main) / (3 - len(statuses))
            for s in ACTIVITY_STATUSES
        }
        profiles.append(
            dataclasses.replace(
                p,
                value=p.value or VALUE_TIERS[i % len(VALUE_TIERS)],
                engagement=p.engagement or ENGAGEMENT_TIERS[i % len(ENGAGEMENT_TIERS)],
                activity=activity,
                activity_shares=p.activity_shares or shares,
                why=p.why or f"bought {10 + i} days ago, {3 + i} orders (medians): segment {i}",
                conditions=p.conditions
                or (
                    NameCheck(f"median spend of segment {i} in the top half", "top 20%", True),
                    NameCheck(f"at least 90% of segment {i} active", f"{i}% active", False),
                ),
            )
        )
    chosen = result.choice.candidate.key
    checked = result.choice.stability_checked or {chosen: 0.77, "gmm:n_components=3": 0.52}
    stability = result.stability
    if stability.verdict != "moderate":  # the report's loud warning is tested on this run
        stability = dataclasses.replace(stability, mean_adjusted_rand=0.77, stable=False)
    edges = result.rfm.edges or {
        axis: tuple(
            (score, float(low), float(high), int(n))
            for score, (low, high, n) in enumerate(
                [(1, 9, 40), (10, 99, 30), (100, 2500.5, 10)], start=1
            )
        )
        for axis in ("recency_days", "frequency", "monetary_total")
    }
    return dataclasses.replace(
        result,
        segments=tuple(profiles),
        choice=dataclasses.replace(result.choice, stability_checked=checked),
        stability=stability,
        rfm=dataclasses.replace(result.rfm, edges=edges),
        activity=result.activity or RHYTHM,
    )


@dataclass
class World:
    run: SegmentationRun
    result: object  # the SegmentationResult the run stored


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    from django.contrib.auth import get_user_model

    import clustering.services as services
    from clustering.params import params_from_input
    from clustering.runs import execution
    from tests.clustering.factories import load_transactions, synthetic_lines
    from tests.reports.site_data import _wipe
    from tests.shops import join, test_shop

    stored = {}

    def run_segmentation(*args, **kwargs):
        stored["result"] = _complete(real(*args, **kwargs))
        return stored["result"]

    real = execution.run_segmentation
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch:
        _wipe()
        shop = test_shop()
        manager = get_user_model().objects.create_user("site-axes", password="pw-site-1")
        join(manager, shop, "manager")
        load_transactions(synthetic_lines(240, seed=5))
        patch.setattr(execution, "run_segmentation", run_segmentation)
        with transaction.atomic():
            run = services.run_create(
                workspace=shop,
                user=manager,
                params=params_from_input(PARAMS),
                name="Axes",
                enqueue=False,
            )
        outcome = services.run_execute(run_id=run.pk, token="axes", hostname="tests@axes")
        assert outcome == "succeeded", SegmentationRun.unscoped.get(pk=run.pk).error
        services.run_publish(workspace=shop, run_id=run.pk, user=manager)
        try:
            yield World(SegmentationRun.unscoped.get(pk=run.pk), stored["result"])
        finally:
            _wipe()


def text(response) -> str:
    """The page's text, tags removed and spaces collapsed."""
    assert response.status_code == 200
    html = response.content.decode()
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def spaced(words: str) -> str:
    return re.sub(r"\s+", " ", words)


def activity_text(profile) -> str:
    """What the pages say about a segment's activity: label words and the share behind it."""
    share = sum(profile.activity_shares[s] for s in ACTIVITY_LABELS[profile.activity])
    return f"Activity: {ACTIVITY_WORDS[profile.activity]} ({round(100 * share)}%"


def make_old(run_id: int) -> SegmentationRun:
    """The run as it was stored before these fields existed (the migration's defaults)."""
    Segment.unscoped.filter(run_id=run_id).update(
        value="", engagement="", activity="", activity_shares={}, why="", conditions=[]
    )
    run = SegmentationRun.unscoped.get(pk=run_id)
    for key in ("verdict", "words", "checked"):
        run.stability.pop(key)
    run.rfm_comparison.pop("edges")
    run.activity_rhythm = {}
    run.save(update_fields=["stability", "rfm_comparison", "activity_rhythm"])
    return run


def test_the_run_stores_what_the_engine_measured(world):
    run, result = world.run, world.result
    rows = {s.number: s for s in Segment.unscoped.filter(run=run)}
    for p in result.segments:
        s = rows[p.segment_id]
        assert (s.value, s.engagement, s.activity, s.why) == (
            p.value,
            p.engagement,
            p.activity,
            p.why,
        )
        assert s.activity_shares == pytest.approx(p.activity_shares)
        assert s.activity_evidence == p.activity_evidence in ("recency", "p_alive")
        assert s.conditions == [dataclasses.asdict(c) for c in p.conditions]
    assert run.stability["verdict"] == result.stability.verdict == "moderate"
    assert run.stability["words"] == result.stability.words
    assert run.stability["checked"] == pytest.approx(result.choice.stability_checked)
    assert run.activity_rhythm["active_days"] == pytest.approx(result.activity.active_days)
    assert run.activity_rhythm["basis"] == result.activity.basis
    assert run.activity_rhythm["p_alive_active"] == result.activity.p_alive_active
    edges = run.rfm_comparison["edges"]
    for axis, bins in result.rfm.edges.items():
        assert [(b["score"], b["low"], b["high"], b["customers"]) for b in edges[axis]] == [
            tuple(b) for b in bins
        ]


def test_the_report_shows_axes_why_conditions_rhythm_stability_and_edges(world, client_for):
    run, result = world.run, world.result
    response = client_for("manager").get(run.get_absolute_url())
    page, html = text(response), response.content.decode()
    assert "What the segment names say" in page
    active = round(result.activity.active_days)
    lapsed = round(result.activity.lapsed_days)
    assert f"Active = bought within the last {active} days" in page
    assert f"lapsed = last bought more than {lapsed} days ago" in page
    assert result.activity.basis in page
    for p in result.segments:
        assert f"Value: {p.value}" in page and f"Engagement: {p.engagement}" in page
        assert activity_text(p) in page
        assert f"Why this name: {spaced(p.why)}" in page
        for c in p.conditions:
            mark = "✓" if c.holds else "✗"
            assert f"{mark} {'Holds' if c.holds else 'Does not hold'}: {c.condition}" in page
            assert f"(observed: {c.observed})" in page
    # Moderate stability is said in words and loudly, not as "stable / not stable".
    assert f'<span class="status warn" data-role="stability">{result.stability.words}' in html
    assert "Moderately stable: review before publishing." in page
    assert "not stable" not in page
    for key, ari in result.choice.stability_checked.items():
        assert candidate_key_label(key) in page and num(ari, 3) in page
        assert key.partition(":")[2] not in page  # the setting in words, not the engine's
    assert "(chosen)" in page.split("Stability of the leading candidates")[1]
    # The RFM grid's bin edges, per axis.
    assert "The RFM grid's scores" in page
    for caption in ("Days since last purchase", "Orders", "Revenue"):
        assert f"<caption>{caption}</caption>" in html
    tables = html.split('id="rfm-edges-heading"')[1].split("<caption>")[1:]
    captions = {"recency_days": "Days since last purchase", "frequency": "Orders"}
    captions["monetary_total"] = "Revenue"
    for axis, bins in result.rfm.edges.items():
        (table,) = [t for t in tables if t.startswith(f"{captions[axis]}</caption>")]
        # amounts in the shop's currency, days whole, orders as counted
        write = {
            "monetary_total": lambda v: money(v, "£"),
            "recency_days": lambda v: num(v, 0),
        }.get(axis, num)
        rows = [
            f'<tr><th scope="row">{score}</th><td class="num">{write(low)}</td>'
            f'<td class="num">{write(high)}</td><td class="num">{intcomma(n)}</td></tr>'
            for score, low, high, n in bins
        ]
        assert "".join(rows) in table.replace("\n", "").replace("      ", "")
    # The grid is relative: how far back its "Loyal customers" reach in this shop, in days.
    reach = max(high for score, _low, high, _n in result.rfm.edges["recency_days"] if score >= 3)
    assert (
        f"its “Loyal customers” (a recency score of 3 or 4) include customers last seen up to "
        f"{num(reach, 0)} days ago" in page
    )


def test_segment_page_shows_axes_why_and_conditions(world, client_for):
    run, result = world.run, world.result
    client = client_for("marketing")
    for p in result.segments:
        page = text(client.get(reverse("clustering:segment-detail", args=[run.pk, p.segment_id])))
        assert "What the name says" in page
        assert f"Value: {p.value}" in page and f"Engagement: {p.engagement}" in page
        assert activity_text(p) in page
        assert f"Why this name: {spaced(p.why)}" in page
        for c in p.conditions:
            assert f"{'✓' if c.holds else '✗'} {'Holds' if c.holds else 'Does not hold'}" in page
        # the rhythm stands inside the members' help sentence, with one full stop
        lapsed = round(result.activity.lapsed_days)
        assert f"lapsed = last bought more than {lapsed} days ago)." in page


def test_dashboard_cards_show_axes_and_why(world, client_for):
    page = text(client_for("marketing").get(reverse("home")))
    for p in world.result.segments:
        card = page.split(f" {p.name} ", 1)[1].split("Recommended action:", 1)[0]
        assert f"Value: {p.value}" in card and f"Engagement: {p.engagement}" in card
        assert activity_text(p) in card
        assert f"Why this name: {spaced(p.why)}" in card


def test_the_api_returns_axes_why_conditions_stability_rhythm_and_edges(world, client_for):
    run, result = world.run, world.result
    client = client_for("manager")
    listed = client.get(reverse("api-segments")).json()["segments"]
    assert len(listed) == len(result.segments)
    for p in result.segments:
        one = client.get(reverse("api-segment-detail", args=[p.segment_id])).json()
        for body in (one, listed[[s["number"] for s in listed].index(p.segment_id)]):
            assert (body["value"], body["engagement"], body["activity"], body["why"]) == (
                p.value,
                p.engagement,
                p.activity,
                p.why,
            )
            assert body["activity_shares"] == pytest.approx(p.activity_shares)
            assert body["activity_evidence"] == p.activity_evidence
            assert body["conditions"] == [dataclasses.asdict(c) for c in p.conditions]
    for url in (
        reverse("api-run-report", args=[run.pk]),
        reverse("clustering:run-report-json", args=[run.pk]),
    ):
        report = json.loads(client.get(url).content)
        assert report["stability"]["verdict"] == result.stability.verdict
        assert report["stability"]["words"] == result.stability.words
        assert report["stability"]["checked"] == pytest.approx(result.choice.stability_checked)
        assert report["activity_rhythm"]["lapsed_days"] == pytest.approx(
            result.activity.lapsed_days
        )
        edges = report["rfm_comparison"]["edges"]
        assert {a: [b["score"] for b in bins] for a, bins in edges.items()} == {
            a: [b[0] for b in bins] for a, bins in result.rfm.edges.items()
        }
        assert [s["why"] for s in report["segments"]] == [p.why for p in result.segments]


def test_a_run_stored_before_the_axes_still_renders_and_shows_none_of_them(world, client_for):
    run = make_old(world.run.pk)
    manager = client_for("manager")
    report = text(manager.get(run.get_absolute_url()))
    for absent in ("What the segment names say", "Value:", "Why this name", "Active = ",
                   "The RFM grid's scores", "Stability of the leading candidates"):  # fmt: skip
        assert absent not in report, absent
    # Its stability words come from its stored mean ARI, with the same thresholds.
    assert "moderately stable, review" in report
    segment = Segment.unscoped.filter(run=run).first()
    for client, url in (
        (client_for("marketing"), segment.get_absolute_url()),
        (manager, reverse("home")),
    ):
        page = text(client.get(url))
        assert segment.name in page
        assert "Value:" not in page and "Why this name" not in page
    body = manager.get(reverse("api-segment-detail", args=[segment.number])).json()
    assert (body["value"], body["activity_shares"], body["why"], body["conditions"]) == (
        "",
        {},
        "",
        [],
    )
    data = manager.get(reverse("api-run-report", args=[run.pk])).json()
    assert data["activity_rhythm"] == {} and "edges" not in data["rfm_comparison"]
    assert data["stability"]["words"] == "moderately stable, review"


@pytest.mark.parametrize(
    ("mean_ari", "words", "level"),
    [
        (0.9, "stable", "ok"),
        (0.75, "moderately stable, review", "warn"),
        (0.5, "unstable", "bad"),
        (float("nan"), "not measured", ""),
    ],
)
def test_the_stability_words_follow_the_numbers(world, client_for, mean_ari, words, level):
    from clustering.runs.results import stability_json

    run = SegmentationRun.unscoped.get(pk=world.run.pk)
    run.stability = stability_json(Stability(mean_ari, (mean_ari,) * 3, 100, False), {})
    run.save(update_fields=["stability"])
    client = client_for("manager")
    response = client.get(run.get_absolute_url())
    html = response.content.decode()
    status = f"status {level}" if level else "status"
    assert f'<span class="{status}" data-role="stability">{escape(words)}</span>' in html
    page = text(response)
    assert ("Moderately stable: review before publishing." in page) == (level == "warn")
    assert ("Unstable: do not rely on these segments" in page) == (level == "bad")
    data = client.get(reverse("api-run-report", args=[run.pk])).json()
    assert data["stability"]["words"] == words
