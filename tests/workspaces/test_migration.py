"""Upgrading a deployment from before workspaces: everything it holds (an import with its
customer and lines, a published run with its segment and assignment, users with roles, a
token) moves into the default workspace, the users keep their roles as memberships, and
the published run stays published. Runs two scripts (migrate and seed, then check) in
subprocesses against a scratch database: SQLite always, PostgreSQL when the suite runs on
it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

from tests.conftest import require
from tests.scratch_db import scratch_postgres

ROOT = Path(__file__).resolve().parents[2]
BEFORE = [
    ("accounts", "0002_roles"),
    ("customers", "0008_import_undone"),
    ("clustering", "0004_value_ahead"),
]

# In one process: migrate to before workspaces, write data with the models as they were
# then (the historical models), migrate to the latest.
SEED = """
import django
django.setup()
from django.core.management import call_command
for app, migration in BEFORE:
    call_command("migrate", app, migration, verbosity=0)
from decimal import Decimal
import uuid
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

apps = MigrationExecutor(connection).loader.project_state(BEFORE).apps
User = apps.get_model("auth", "User")
Group = apps.get_model("auth", "Group")
manager = User.objects.create(username="mia", password="!")
manager.groups.add(Group.objects.get(name="manager"))
marketer = User.objects.create(username="max", password="!")
marketer.groups.add(Group.objects.get(name="marketing"))
User.objects.create(username="nobody", password="!")
now = timezone.now()
record = apps.get_model("customers", "ImportRecord").objects.create(
    file_name="shop.csv", sha256="ab", status="succeeded", rows_read=2, rows_imported=2)
customer = apps.get_model("customers", "Customer").objects.create(
    external_id="12346", first_purchase_at=now, last_purchase_at=now, last_seen_at=now)
Line = apps.get_model("customers", "TransactionLine")
for n in (1, 2):
    Line.objects.create(customer=customer, invoice=f"5363{n}", quantity=Decimal(2),
        unit_price=Decimal("2.5"), amount=Decimal(5), timestamp=now, import_record=record,
        line_hash=uuid.UUID(int=n))
run = apps.get_model("clustering", "SegmentationRun").objects.create(
    created_by=manager, params={}, status="succeeded", is_published=True, published_at=now,
    published_by=manager, name="Before workspaces")
segment = apps.get_model("clustering", "Segment").objects.create(
    run=run, number=0, name="Champions", size=1, share_customers=1.0, share_revenue=1.0)
apps.get_model("clustering", "SegmentAssignment").objects.create(
    run=run, customer=customer, segment=segment, confidence=1.0)
apps.get_model("accounts", "ApiToken").objects.create(
    user=manager, digest="d" * 128, token_key="abcdefgh", name="CRM sync")
call_command("migrate", verbosity=0)
"""

CHECK = """
import django
django.setup()
from django.contrib.auth.models import Group, User
from django.db import IntegrityError, transaction
from accounts.models import ApiToken, Membership
from clustering.models import SegmentationRun
from customers.models import Customer, ImportRecord, TransactionLine
from workspaces.models import Workspace

(main,) = Workspace.objects.all()
assert main.slug == "main", main.slug
customer = Customer.objects.in_workspace(main).get(external_id="12346")
assert TransactionLine.objects.in_workspace(main).filter(customer=customer).count() == 2
assert ImportRecord.objects.in_workspace(main).get().file_name == "shop.csv"
run = SegmentationRun.objects.in_workspace(main).get(is_published=True)
assert run.name == "Before workspaces"
assert list(run.segments.values_list("name", flat=True)) == ["Champions"]
assert run.assignments.get().customer == customer
roles = dict(Membership.objects.in_workspace(main).values_list("user__username", "role"))
assert roles == {"mia": "manager", "max": "marketing"}, roles
assert not Group.objects.filter(name__in=["marketing", "manager", "admin"]).exists()
assert ApiToken.objects.in_workspace(main).get().name == "CRM sync"
# The roles hold in the workspace: the manager may run segmentations there.
mia = User.objects.get(username="mia")
mia.workspace_membership = Membership.objects.in_workspace(main).get(user=mia)
assert mia.has_perm("accounts.manage_runs")
# Customer ids are unique per workspace now: another shop may have a 12346.
other = Workspace.objects.create(name="Other", slug="other")
Customer.objects.create(workspace=other, external_id="12346")
try:
    with transaction.atomic():
        Customer.objects.create(workspace=main, external_id="12346")
except IntegrityError:
    pass
else:
    raise AssertionError("a second 12346 in one workspace was accepted")
print("checked")
"""


def _env(url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SETTINGS_MODULE": "segmentation_site.settings.base",
    }


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _check_upgrade(url: str, tmp_path: Path) -> None:
    env = _env(url, tmp_path)
    _run(["-c", f"BEFORE = {BEFORE!r}\n{SEED}"], env)
    assert _run(["-c", CHECK], env).strip() == "checked"


def test_upgrade_moves_everything_into_the_default_workspace_on_sqlite(tmp_path):
    _check_upgrade(f"sqlite:///{tmp_path / 'before.sqlite3'}", tmp_path)


def test_upgrade_moves_everything_into_the_default_workspace_on_postgresql(db, tmp_path):
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    with scratch_postgres("workspace_upgrade") as (url, _connect):
        _check_upgrade(url, tmp_path)
