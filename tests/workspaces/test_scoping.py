"""The one mechanism that keeps each workspace's data to itself (workspaces/scoping.py):
every model a workspace owns reads nothing until told the workspace, and then only that
workspace's rows; every selector takes the workspace; and the plain `unscoped` manager,
which reads across workspaces, is used only where that is the point."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.shortcuts import get_object_or_404
from django.utils import timezone

from workspaces.scoping import ScopedManager, WorkspaceRequired

ROOT = Path(__file__).resolve().parents[2]
PROJECT_APPS = [
    "accounts", "audit", "customers", "clustering", "schedules", "alerts", "webhooks", "reports",
    "workspaces",
]  # fmt: skip
# Where app code lives (common is a package, not an app).
CODE_PACKAGES = [*PROJECT_APPS, "common"]
# Models that belong to no workspace, and why.
NOT_SCOPED = {
    "workspaces.Workspace": "the workspaces themselves",
    "clustering.WorkerHeartbeat": "the liveness of the shared workers",
    "accounts.Capability": "no table: holds the permissions roles are made of",
}
# Selectors that read nothing of a workspace, and why.
SELECTORS_WITHOUT_WORKSPACE = {
    "clustering.selectors.worker_last_seen": "the shared workers' heartbeat",
    "clustering.selectors.worker_is_recent": "the shared workers' heartbeat",
}
# Modules of the apps that may read across workspaces with `unscoped`, and why.
UNSCOPED_ALLOWED = {
    "accounts/authentication.py": "finds a token by its key, before its workspace is known",
    "alerts/services.py": "a worker checks a publication by its id; the reaper serves all",
    "alerts/mailing.py": "a worker mails an alert by its id; the reaper serves all",
    "clustering/runs/claims.py": "a worker claims a run by its id; the claim then scopes",
    "clustering/runs/recovery.py": "the reaper recovers stuck runs of every workspace",
    "customers/tasks.py": "a worker loads an import by its id; the reaper serves all",
    "schedules/tasks.py": "beat fires a schedule by its id; the firing then scopes",
    "webhooks/delivery.py": "a worker takes a webhook delivery by its id; then it scopes",
    "webhooks/services.py": "the reaper queues again overdue deliveries of every workspace",
}


def scoped_models():
    for label in PROJECT_APPS:
        for model in apps.get_app_config(label).get_models():
            if model._meta.label not in NOT_SCOPED:
                yield model


def test_the_list_of_models_outside_workspaces_is_current():
    labels = {
        model._meta.label
        for label in PROJECT_APPS
        for model in apps.get_app_config(label).get_models()
    }
    assert set(NOT_SCOPED) <= labels
    assert {m._meta.label for m in scoped_models()} >= {
        "customers.Customer",
        "customers.TransactionLine",
        "customers.ImportRecord",
        "clustering.SegmentationRun",
        "clustering.SegmentAssignment",
        "accounts.ApiToken",
        "accounts.Membership",
    }


@pytest.mark.parametrize("model", list(scoped_models()), ids=lambda m: m._meta.label)
def test_a_model_of_a_workspace_reads_nothing_without_the_workspace(db, model):
    manager = model._default_manager
    assert isinstance(manager, ScopedManager), f"{model._meta.label}: objects = ScopedManager()"
    assert model.objects is manager
    reads = [
        lambda: list(manager.all()),
        lambda: manager.count(),
        lambda: manager.filter().exists(),
        lambda: manager.values_list("pk").first(),
        lambda: get_object_or_404(model, pk=1),
    ]
    for read in reads:
        with pytest.raises(WorkspaceRequired):
            read()
    with pytest.raises(WorkspaceRequired):
        manager.in_workspace(None)


def _world(workspace, user, tag: str) -> dict:
    """One of each scoped object in `workspace`; the customer id is the same in every
    workspace, as two shops' ids can be."""
    from accounts.models import ApiToken, Membership
    from alerts.models import Alert, AlertRule, PublicationCheck
    from audit.models import AuditEntry
    from clustering.models import (
        Candidate,
        PlaybookAction,
        Publication,
        Segment,
        SegmentAssignment,
        SegmentationRun,
    )  # fmt: skip
    from customers.models import (
        Customer,
        ImportLayout,
        ImportRecord,
        ImportRejectedRow,
        KeptOutCustomer,
        TransactionLine,
    )
    from schedules.models import Schedule
    from webhooks.models import Delivery, DeliveryAttempt, Endpoint

    now = timezone.now()
    entry = AuditEntry.objects.create(workspace=workspace, action="run_started", actor_name=tag)
    record = ImportRecord.objects.create(workspace=workspace, file_name=f"{tag}.csv", sha256=tag)
    rejected = ImportRejectedRow.objects.create(import_record=record, line_number=2, message="x")
    layout = ImportLayout.objects.create(workspace=workspace, signature=tag, columns=["a"])
    customer = Customer.objects.create(workspace=workspace, external_id="1001")
    kept_out = KeptOutCustomer.objects.create(workspace=workspace, external_id="1002")
    line = TransactionLine.objects.create(
        workspace=workspace, customer=customer, invoice=tag, quantity=Decimal(1),
        amount=Decimal(3), timestamp=now, import_record=record, line_hash=uuid.uuid4(),
    )  # fmt: skip
    run = SegmentationRun.objects.create(workspace=workspace, created_by=user, params={})
    candidate = Candidate.objects.create(
        run=run, algorithm="kmeans", k=2, setting="k=2", n_clusters=2, silhouette=0.5,
        davies_bouldin=1.0, calinski_harabasz=9.0, eligible=True, fit_seconds=0.1, fitted_on=9,
    )  # fmt: skip
    segment = Segment.objects.create(
        run=run, number=0, name=tag, size=1, share_customers=1.0, share_revenue=1.0
    )
    assignment = SegmentAssignment.objects.create(
        run=run, customer=customer, segment=segment, confidence=1.0
    )
    publication = Publication.objects.create(workspace=workspace, run=run, published_at=now)
    membership = Membership.objects.create(workspace=workspace, user=user, role="manager")
    token = ApiToken.objects.create(
        workspace=workspace, user=user, digest=tag * 8, token_key=tag[:8], name=tag
    )
    schedule = Schedule.objects.create(workspace=workspace)
    rule = AlertRule.objects.create(workspace=workspace, kind="scheduled_run_failed")
    alert = Alert.objects.create(workspace=workspace, rule=rule, kind=rule.kind, message=tag)
    endpoint = Endpoint.objects.create(workspace=workspace, url=f"https://{tag}.example.com/")
    playbook = PlaybookAction.objects.create(workspace=workspace, name="Champions", action=tag)
    delivery = Delivery.objects.create(
        workspace=workspace, endpoint=endpoint, publication=publication
    )
    attempt = DeliveryAttempt.objects.create(
        workspace=workspace, delivery=delivery, at=now, status_code=200
    )
    check = PublicationCheck.objects.create(
        workspace=workspace, publication=publication, queued_at=now
    )
    return {
        o._meta.label: o
        for o in (entry, rule, alert, record, rejected, customer, line, run, candidate, segment,
                  assignment,
                  publication, membership, token, schedule, layout, endpoint, delivery,
                  attempt, playbook, check, kept_out)
    }  # fmt: skip


def test_in_workspace_reads_that_workspaces_rows_only(db, shop, other_shop, django_user_model):
    user = django_user_model.objects.create_user("both", password="pw-both-1")
    mine = _world(shop, user, "mine0001")
    theirs = _world(other_shop, user, "theirs01")
    for model in scoped_models():
        label = model._meta.label
        assert label in mine, f"add {label} to _world() so its scoping is tested"
        assert list(model.objects.in_workspace(shop)) == [mine[label]], label
        assert list(model.objects.in_workspace(other_shop)) == [theirs[label]], label
        assert not model.objects.in_workspace(shop).filter(pk=theirs[label].pk).exists(), label
    # A related manager is scoped by the object it starts from.
    run = mine["clustering.SegmentationRun"]
    assert list(run.segments.all()) == [mine["clustering.Segment"]]


def _selector_modules():
    for label in PROJECT_APPS:
        package = importlib.import_module(label)
        for info in pkgutil.walk_packages(package.__path__, f"{label}."):
            if info.name.rsplit(".", 1)[-1] == "selectors":
                yield importlib.import_module(info.name)


def test_every_selector_takes_the_workspace():
    modules = list(_selector_modules())
    assert {m.__name__ for m in modules} >= {"customers.selectors", "clustering.selectors"}
    missing = []
    for module in modules:
        for name, function in inspect.getmembers(module, inspect.isfunction):
            qualified = f"{module.__name__}.{name}"
            if function.__module__ != module.__name__ or name.startswith("_"):
                continue
            if qualified in SELECTORS_WITHOUT_WORKSPACE:
                continue
            if "workspace" not in inspect.signature(function).parameters:
                missing.append(qualified)
    assert not missing, f"selectors that can read without a workspace: {missing}"


def _modules_using_unscoped() -> set[str]:
    found = set()
    for label in CODE_PACKAGES:
        for path in (ROOT / label).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative or relative.endswith("admin.py"):
                continue  # the admin site and data migrations span workspaces by design
            tree = ast.parse(path.read_text(), filename=relative)
            if any(isinstance(n, ast.Attribute) and n.attr == "unscoped" for n in ast.walk(tree)):
                found.add(relative)
    return found


def test_only_the_listed_modules_read_across_workspaces():
    assert _modules_using_unscoped() <= set(UNSCOPED_ALLOWED), (
        "a module reads with `unscoped`: scope it, or list it in UNSCOPED_ALLOWED with why"
    )
