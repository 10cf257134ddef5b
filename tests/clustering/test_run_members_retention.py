"""Old runs never published lose their members (manage.py prune_run_members), and the pages,
exports, the compare page and the API say so; published runs and the newest run keep them."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from clustering.models import Segment, SegmentAssignment, SegmentationRun
from clustering.runs.retention import run_members_prune
from clustering.services import run_publish
from tests.clustering.factories import executed_run, load_transactions, synthetic_lines

pytestmark = pytest.mark.django_db
PARAMS = {"algorithms": ["kmeans"], "k_min": 2, "k_max": 3, "seed": 7}


@pytest.fixture
def runs(shop, make_user):
    """Four runs, oldest first: never published, published once (then replaced), the one
    published now, and the newest, never published; all but the last two finished long ago."""
    manager = make_user("manager")
    load_transactions(synthetic_lines(120, seed=5), workspace=shop)
    made = {}
    for name in ("draft", "once published", "published", "newest"):
        made[name] = executed_run(shop, manager, PARAMS, name=name)
    run_publish(workspace=shop, run_id=made["once published"].pk, user=manager)
    run_publish(workspace=shop, run_id=made["published"].pk, user=manager)
    long_ago = timezone.now() - timedelta(days=120)
    for age, name in enumerate(("draft", "once published", "published", "newest")):
        SegmentationRun.unscoped.filter(pk=made[name].pk).update(
            finished_at=long_ago + timedelta(hours=age)
        )
    return made


def _members(run) -> int:
    return SegmentAssignment.unscoped.filter(run=run).count()


def test_only_old_runs_never_published_lose_their_members(shop, runs):
    kept = {name: _members(run) for name, run in runs.items()}
    assert all(kept.values())

    dry = run_members_prune(workspace=shop, older_than=timedelta(days=90), dry_run=True)
    assert (dry.runs, dry.members) == (1, kept["draft"])
    assert _members(runs["draft"]) == kept["draft"]

    pruned = run_members_prune(workspace=shop, older_than=timedelta(days=90))

    assert (pruned.runs, pruned.members) == (1, kept["draft"])
    assert _members(runs["draft"]) == 0
    for name in ("once published", "published", "newest"):
        assert _members(runs[name]) == kept[name], name
    draft = SegmentationRun.unscoped.get(pk=runs["draft"].pk)
    assert draft.members_removed_at is not None
    # its report stays: segments with their sizes and profiles
    segments = Segment.unscoped.filter(run=draft)
    assert segments.exists() and sum(s.size for s in segments) == draft.n_customers
    # nothing more to remove a second time
    assert run_members_prune(workspace=shop, older_than=timedelta(days=90)).runs == 0


def test_a_recent_run_keeps_its_members(shop, runs):
    for name, days in (("draft", 10), ("newest", 5)):
        SegmentationRun.unscoped.filter(pk=runs[name].pk).update(
            finished_at=timezone.now() - timedelta(days=days)
        )
    assert run_members_prune(workspace=shop, older_than=timedelta(days=90)).runs == 0
    assert _members(runs["draft"])


def test_the_newest_run_keeps_its_members_however_old(shop, runs):
    run_members_prune(workspace=shop, older_than=timedelta(days=0))
    assert _members(runs["newest"]) and not _members(runs["draft"])


def test_pages_exports_compare_and_api_say_the_members_were_removed(shop, runs, client):
    run_members_prune(workspace=shop, older_than=timedelta(days=90))
    draft = runs["draft"]
    client.force_login(draft.created_by)  # the runs' manager

    page = client.get(f"/runs/{draft.pk}/segments/0/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-role="members-removed"' in text
    assert "members-csv" not in text and "<tbody>" not in text.split('id="members"')[1]

    report = client.get(f"/runs/{draft.pk}/").content.decode()
    assert 'data-role="members-removed"' in report
    assert f"/runs/{draft.pk}/assignments.csv" not in report

    listed = client.get("/runs/").content.decode()
    assert listed.count('data-role="members-removed"') == 1

    for url in (f"/runs/{draft.pk}/assignments.csv", f"/runs/{draft.pk}/segments/0/members.csv"):
        gone = client.get(url)
        assert gone.status_code == 410, url
        assert "never published" in gone.content.decode()

    # a run with members still lists them
    other = client.get(f"/runs/{runs['newest'].pk}/segments/0/").content.decode()
    assert 'data-role="members-removed"' not in other and "<tbody>" in other

    compare = client.get("/compare/").content.decode()
    assert f'value="{runs["newest"].pk}"' in compare
    assert f'value="{draft.pk}"' not in compare

    api = client.get(f"/api/v1/runs/{draft.pk}/").json()
    assert api["members_removed_at"]
    assert client.get(f"/api/v1/runs/{runs['newest'].pk}/").json()["members_removed_at"] is None


def test_the_command_prunes_and_says_what_it_removed(shop, runs):
    members = _members(runs["draft"])
    out = StringIO()
    call_command("prune_run_members", "--dry-run", stdout=out)
    assert f"shop: Would remove {members:,} member row(s) of 1 run(s)" in out.getvalue()
    assert _members(runs["draft"]) == members

    out = StringIO()
    call_command("prune_run_members", "--older-than-days", "200", stdout=out)
    assert "Removed 0 member row(s) of 0 run(s)" in out.getvalue()

    out = StringIO()
    call_command("prune_run_members", stdout=out)
    assert f"shop: Removed {members:,} member row(s) of 1 run(s)" in out.getvalue()
    assert _members(runs["draft"]) == 0

    with pytest.raises(CommandError, match="0 or more"):
        call_command("prune_run_members", "--older-than-days", "-1")
