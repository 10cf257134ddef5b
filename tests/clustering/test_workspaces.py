"""Runs in two workspaces whose customer ids collide but whose transactions differ: a run
reads only its workspace's lines, publishing stays within the workspace, and another
workspace's runs and segments are not found on the pages."""

from __future__ import annotations

import re

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.urls import reverse

from clustering.engine.features import customer_features
from clustering.models import SegmentationRun
from clustering.params import params_from_input
from clustering.services import run_create, run_execute, run_publish
from workspaces.currencies import currency_symbol

from .factories import load_transactions, synthetic_lines

pytestmark = pytest.mark.django_db
PARAMS = {"algorithms": ["kmeans"], "k_min": 2, "k_max": 4, "seed": 7}


@pytest.fixture
def frames(shop, other_shop):
    """The same 200 customer ids in both workspaces, with different purchases."""
    mine, theirs = synthetic_lines(200, seed=3), synthetic_lines(200, seed=9)
    assert set(mine["customer_id"]) == set(theirs["customer_id"])
    load_transactions(mine, name="mine.csv", workspace=shop)
    load_transactions(theirs, name="theirs.csv", workspace=other_shop)
    return mine, theirs


def executed(workspace, user, name: str) -> SegmentationRun:
    with transaction.atomic():
        run = run_create(
            workspace=workspace, user=user, params=params_from_input(PARAMS), name=name
        )
    assert run_execute(run_id=run.pk, token=f"ws-{run.pk}", hostname="tests@ws") == "succeeded"
    return SegmentationRun.objects.in_workspace(workspace).get(pk=run.pk)


@pytest.fixture
def managers(make_user, other_shop):
    return make_user("manager"), make_user("manager", "their-manager", workspace=other_shop)


def test_a_run_reads_only_its_workspaces_lines(frames, shop, other_shop, managers):
    mine, theirs = frames
    run = executed(shop, managers[0], "Mine")
    got = run.assignments.values_list(
        "customer__external_id", "frequency", "monetary_total"
    ).order_by("customer__external_id")
    got = {customer: (frequency, monetary) for customer, frequency, monetary in got}
    expected = customer_features(mine).features
    elsewhere = customer_features(theirs).features
    assert len(got) == run.n_customers > 0
    for customer, (frequency, monetary) in got.items():
        assert frequency == expected.at[customer, "frequency"], customer
        assert monetary == pytest.approx(expected.at[customer, "monetary_total"], abs=0.01)
    # The other workspace's lines would have given other numbers.
    assert any(
        customer in elsewhere.index
        and monetary != pytest.approx(elsewhere.at[customer, "monetary_total"], abs=0.01)
        for customer, (_, monetary) in got.items()
    )
    assert run.data_summary["customers_with_lines"] == mine["customer_id"].nunique()
    assert run.data_summary["customers_in_database"] == mine["customer_id"].nunique()
    assert run.data_summary["purchase_lines"] == int(
        (~mine["is_return"] & ~mine["is_non_product"]).sum()
    )
    # Every assignment is of a customer of the run's workspace.
    assert set(run.assignments.values_list("customer__workspace", flat=True)) == {shop.pk}
    theirs_run = executed(other_shop, managers[1], "Theirs")
    assert theirs_run.data_fingerprint != run.data_fingerprint
    assert set(theirs_run.assignments.values_list("customer__workspace", flat=True)) == {
        other_shop.pk
    }


def test_publishing_in_one_workspace_leaves_the_others_published_run(
    frames, shop, other_shop, managers
):
    mine, again = executed(shop, managers[0], "Mine"), executed(shop, managers[0], "Again")
    theirs = executed(other_shop, managers[1], "Theirs")
    run_publish(workspace=other_shop, run_id=theirs.pk, user=managers[1])
    run_publish(workspace=shop, run_id=mine.pk, user=managers[0])
    run_publish(workspace=shop, run_id=again.pk, user=managers[0])
    published = SegmentationRun.unscoped.filter(is_published=True)
    assert set(published.values_list("pk", flat=True)) == {again.pk, theirs.pk}
    # A workspace cannot publish (or even find) another's run.
    with pytest.raises(SegmentationRun.DoesNotExist):
        run_publish(workspace=shop, run_id=theirs.pk, user=managers[0])


def test_another_workspaces_runs_and_segments_are_not_found(
    frames, shop, other_shop, managers, client_for, client
):
    theirs = executed(other_shop, managers[1], "Their secret run")
    run_publish(workspace=other_shop, run_id=theirs.pk, user=managers[1])
    segment = theirs.segments.first()
    client.force_login(managers[0])
    manager, marketing = client, client_for("marketing")
    for name in (
        "run-detail",
        "run-status",
        "run-report-json",
        "run-candidates-csv",
        "run-assignments-csv",
    ):
        response = manager.get(reverse(f"clustering:{name}", args=[theirs.pk]))
        assert response.status_code == 404, name
    for name in ("run-cancel", "run-publish"):
        response = manager.post(reverse(f"clustering:{name}", args=[theirs.pk]))
        assert response.status_code == 404, name
    for client in (manager, marketing):
        for name in ("segment-detail", "segment-members-csv"):
            url = reverse(f"clustering:{name}", args=[theirs.pk, segment.number])
            assert client.get(url).status_code == 404, name
    listed = manager.get(reverse("clustering:run-list")).content.decode()
    assert "Their secret run" not in listed
    theirs.refresh_from_db()
    assert theirs.is_published and theirs.status == SegmentationRun.Status.SUCCEEDED


def test_amounts_on_the_run_report_carry_the_workspaces_symbol(
    frames, other_shop, make_user, client
):
    """other_shop counts in USD: its run report shows $ amounts, no £."""
    manager = make_user("manager", "usd-manager", workspace=other_shop)
    run = executed(other_shop, manager, "Dollars")
    client.force_login(manager)
    html = client.get(f"/w/{other_shop.slug}{run.get_absolute_url()}").content.decode()
    assert "$" in html and "£" not in html


def test_the_names_sentences_give_amounts_in_the_workspaces_currency(
    frames, shop, other_shop, managers
):
    """A segment's why and its value condition say "£312 spent" in a pound shop and "$312"
    in a dollar one, where they said "312 spent"."""
    for workspace, user, symbol in ((shop, managers[0], "£"), (other_shop, managers[1], "$")):
        assert currency_symbol(workspace.currency) == symbol
        run = executed(workspace, user, f"In {workspace.currency}")
        segments = list(run.segments.all())
        assert segments
        for segment in segments:
            assert re.search(rf" {re.escape(symbol)}[\d,.]+ spent \(medians\): ", segment.why), (
                segment.why
            )
            value = [c for c in segment.conditions if c["observed"].startswith("median spend")]
            assert len(value) <= 1
            for condition in value:
                assert condition["observed"].startswith(f"median spend {symbol}"), condition


def test_the_command_needs_the_workspace_when_there_are_several(frames, shop, other_shop):
    with pytest.raises(CommandError, match="more than one workspace.*other-shop"):
        call_command("segment_customers", "--no-wait")
    with pytest.raises(CommandError, match="No workspace 'nowhere'"):
        call_command("segment_customers", "--workspace", "nowhere", "--no-wait")


def test_the_command_runs_in_the_named_workspace(frames, other_shop, managers, capsys):
    call_command(
        "segment_customers",
        "--workspace",
        other_shop.slug,
        "--params",
        '{"algorithms": ["kmeans"], "k_min": 2, "k_max": 4}',
        "--sync",
    )
    (run,) = SegmentationRun.unscoped.all()
    assert run.workspace == other_shop and run.created_by == managers[1]
    assert run.status == SegmentationRun.Status.SUCCEEDED
    assert "in workspace other-shop" in capsys.readouterr().out
