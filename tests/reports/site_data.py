"""One small executed world shared by the page tests of a module: synthetic customers, two
succeeded runs (the first published earlier, the second published now) and a manager.

Created once per test module (module scope, committed), so the pages are tested against
real run results without running the engine per test; removed again when the module ends,
so other test modules start from an empty database. Tests in a module using it must not
be transactional (a flush would remove it under the other tests).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

SMALL_PARAMS = {"algorithms": ["kmeans", "gmm"], "k_min": 2, "k_max": 4, "seed": 7}


@dataclass
class SiteData:
    workspace: object
    earlier: object  # SegmentationRun, published before `published`
    published: object  # SegmentationRun, the current one
    manager: object
    customer_id: str  # a customer in the published run


def _execute(workspace, user, params: dict, name: str):
    from tests.clustering.factories import executed_run

    return executed_run(workspace, user, params, name=name, token="site")


def _wipe() -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from clustering.models import Candidate, Segment, SegmentAssignment, SegmentationRun
    from customers.models import Customer, ImportRecord, TransactionLine
    from tests.audit.helpers import wipe_audit_log

    # pytest-django creates the test database only when a selected test is marked for it;
    # without one this connection is the configured database, which must never be wiped
    name = str(connection.settings_dict["NAME"])
    if not (Path(name).name.startswith("test") or name.startswith("test_")):
        raise RuntimeError(f"refusing to wipe {name}: not a test database (mark tests django_db)")
    for run in SegmentationRun.unscoped.exclude(predictor_file=""):
        with contextlib.suppress(FileNotFoundError):
            (Path(settings.MEDIA_ROOT) / run.predictor_file).unlink()
    SegmentationRun.unscoped.update(is_published=False)
    for model in (SegmentAssignment, Segment, Candidate, SegmentationRun, TransactionLine):
        model.unscoped.all().delete()
    Customer.unscoped.all().delete()
    ImportRecord.unscoped.all().delete()
    get_user_model().objects.filter(username__startswith="site-").delete()
    wipe_audit_log()  # its entries refer to the runs, users and workspaces removed


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker):
    from django.contrib.auth import get_user_model

    from clustering.models import SegmentAssignment, SegmentationRun
    from clustering.services import run_publish
    from tests.clustering.factories import load_transactions, synthetic_lines
    from tests.shops import join, test_shop

    with django_db_blocker.unblock():
        _wipe()
        shop = test_shop()
        manager = get_user_model().objects.create_user("site-manager", password="pw-site-1")
        join(manager, shop, "manager")
        load_transactions(synthetic_lines(240, seed=5), workspace=shop)
        earlier = _execute(shop, manager, {**SMALL_PARAMS, "algorithms": ["kmeans"]}, "Earlier run")
        run_publish(workspace=shop, run_id=earlier.pk, user=manager)
        published = _execute(shop, manager, SMALL_PARAMS, "Spring review")
        run_publish(workspace=shop, run_id=published.pk, user=manager)
        published.refresh_from_db()
        earlier.refresh_from_db()
        # The pages' tests rest on this: one current run, the second.
        assert SegmentationRun.objects.in_workspace(shop).get(is_published=True) == published
        customer_id = (
            SegmentAssignment.objects.in_workspace(shop)
            .filter(run=published)
            .order_by("-monetary_total")
            .values_list("customer__external_id", flat=True)
            .first()
        )
        try:
            yield SiteData(shop, earlier, published, manager, customer_id)
        finally:
            _wipe()
