"""The same actions done the other ways (the API, the command line, the schedule, the admin
site, the other export pages), and changes that fail leaving no entry."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken, Membership
from accounts.services import MembershipRefused, api_token_create, membership_add
from audit.models import AuditEntry
from clustering.models import Publication
from clustering.services import RunError, run_publish
from tests.clustering.factories import executed_run, load_transactions, synthetic_lines
from tests.customers.conftest import CDNOW_SLICE

pytestmark = pytest.mark.django_db

RUN_PARAMS = {"algorithms": ["kmeans"], "k_min": 2, "k_max": 3, "seed": 7}


class NewEntries:
    """The entries written inside the block."""

    def __enter__(self):
        self.before = set(AuditEntry.unscoped.values_list("pk", flat=True))
        return self

    def __exit__(self, *exc):
        self.entries = list(AuditEntry.unscoped.exclude(pk__in=self.before).order_by("pk"))

    def only(self) -> AuditEntry:
        assert len(self.entries) == 1, [(e.action, e.actor_name) for e in self.entries]
        return self.entries[0]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def manager(make_user):
    return make_user("manager", username="mia")


@pytest.fixture
def published(shop, manager):
    load_transactions(synthetic_lines(80, seed=4), workspace=shop)
    return executed_run(shop, manager, RUN_PARAMS, name="Current")


def test_an_import_through_the_api(shop, manager):
    _, secret = api_token_create(user=manager, workspace=shop, name="t", read_only=False)
    upload = SimpleUploadedFile(
        "api.csv", CDNOW_SLICE.read_bytes()[:2000].rsplit(b"\n", 1)[0], content_type="text/csv"
    )
    with NewEntries() as new:
        response = Client(headers={"Authorization": f"Token {secret}"}).post(
            reverse("api-imports"), {"file": upload}
        )
    assert response.status_code == 202, response.content
    entry = new.only()
    assert (entry.action, entry.actor_name, entry.address) == ("import_started", "mia", "127.0.0.1")
    assert entry.target_id == str(response.json()["id"])


def test_an_import_from_the_command_line_has_no_address(shop, manager):
    with NewEntries() as new:
        call_command("import_transactions", str(CDNOW_SLICE), "--user", "mia", stdout=io.StringIO())
    entry = new.only()
    assert (entry.action, entry.actor, entry.address) == ("import_started", manager, None)


@pytest.mark.parametrize(
    ("source", "name"), [("schedule", "the schedule"), ("command", "the command line")]
)
def test_a_publication_by_the_schedule_or_the_command_is_the_systems(
    shop, manager, published, source, name
):
    with NewEntries() as new:
        run_publish(workspace=shop, run_id=published.pk, user=manager, source=source, note="ok")
    entry = new.only()
    assert (entry.action, entry.actor, entry.actor_name) == ("run_published", None, name)
    assert entry.details == {"by": source, "as_user": "mia", "note": "ok"}
    assert Publication.objects.in_workspace(shop).get().source == source


def test_a_run_started_by_the_schedule_is_the_schedules(shop, manager):
    from django.db import transaction

    from clustering.params import params_from_input
    from clustering.services import run_create

    load_transactions(synthetic_lines(80, seed=4), workspace=shop)
    with NewEntries() as new, transaction.atomic():
        run_create(
            workspace=shop,
            user=manager,
            params=params_from_input(RUN_PARAMS),
            enqueue=False,
            trigger="schedule",
        )
    entry = new.only()
    assert (entry.action, entry.actor, entry.actor_name) == ("run_started", None, "the schedule")


def test_the_members_pages_csv_exports_are_logged(shop, manager, published):
    run_publish(workspace=shop, run_id=published.pk, user=manager)
    segment = published.segments.order_by("number").first()
    client = signed_in(manager)
    urls = {
        segment: reverse("clustering:segment-members-csv", args=[published.pk, segment.number]),
        published: reverse("clustering:run-assignments-csv", args=[published.pk]),
    }
    for target, url in urls.items():
        with NewEntries() as new:
            response = client.get(url)
            assert response.status_code == 200
        entry = new.only()
        assert (entry.action, entry.actor_name, entry.target_repr) == (
            "members_exported",
            "mia",
            str(target),
        )


def test_a_failed_change_leaves_no_entry(shop, manager, make_user):
    boss = make_user("admin", username="boss")
    with NewEntries() as new:
        with pytest.raises(MembershipRefused):
            membership_add(workspace=shop, by=boss, username="mia", role="admin")
        with pytest.raises(RunError):
            from clustering.models import SegmentationRun

            run = SegmentationRun.objects.create(workspace=shop, created_by=manager, params={})
            run_publish(workspace=shop, run_id=run.pk, user=manager)
        response = signed_in(boss).post(reverse("members"), {"username": "ghost", "role": "admin"})
        assert response.status_code == 400
    assert new.entries == []


def test_the_token_page_revokes_with_an_entry(shop, manager):
    token, _ = api_token_create(user=manager, workspace=shop, name="old", read_only=True)
    with NewEntries() as new:
        response = signed_in(manager).post(reverse("api-token-revoke", args=[token.token_key]))
    assert response.status_code == 302
    entry = new.only()
    assert (entry.action, entry.target_id, entry.address) == (
        "token_revoked",
        token.token_key,
        "127.0.0.1",
    )


def test_the_admin_sites_membership_and_token_changes_are_logged(shop, manager, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="pw-root-1")
    client = signed_in(root)
    membership = Membership.objects.in_workspace(shop).get(user=manager)
    url = f"/admin/auth/user/{manager.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        {
            "username": "mia",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "10:00:00",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "1",
            "memberships-0-id": str(membership.pk),
            "memberships-0-user": str(manager.pk),
            "memberships-0-workspace": str(shop.pk),
            "memberships-0-role": "admin",
        }
    )
    for key in ("groups", "user_permissions", "last_login", "password", "date_joined"):
        data.pop(key, None)
    data = {k: v for k, v in data.items() if not isinstance(v, list | tuple)}
    with NewEntries() as new:
        response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = new.only()
    assert (entry.action, entry.actor_name, entry.details["previous_role"]) == (
        "role_changed",
        "root",
        "manager",
    )

    token, _ = api_token_create(user=manager, workspace=shop, name="gone", read_only=True)
    with NewEntries() as new:
        response = client.post(f"/admin/accounts/apitoken/{token.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert (new.only().action, new.only().actor_name) == ("token_revoked", "root")
    assert not ApiToken.unscoped.filter(pk=token.pk).exists()

    with NewEntries() as new:
        response = client.post(f"/admin/auth/user/{manager.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    entry = new.only()
    assert (entry.action, entry.target_id, entry.actor_name) == (
        "member_removed",
        str(membership.pk),
        "root",
    )


def test_the_movements_csv_export_is_logged(shop, manager, published):
    from clustering.movements import movements_between
    from reports.movement_views import flow_query

    run_publish(workspace=shop, run_id=published.pk, user=manager)
    later_run = executed_run(shop, manager, {**RUN_PARAMS, "seed": 8}, name="Later")
    run_publish(workspace=shop, run_id=later_run.pk, user=manager)
    later = Publication.objects.in_workspace(shop).first()
    flow = movements_between(workspace=shop, later=later).flows[0]
    url = reverse("movement-members-csv", args=[later.pk]) + "?" + flow_query(flow)
    with NewEntries() as new:
        response = signed_in(manager).get(url)
        assert response.status_code == 200
    entry = new.only()
    assert (entry.action, entry.actor_name, entry.target_id) == (
        "members_exported",
        "mia",
        str(later.pk),
    )
    assert entry.details["rows"] == flow.customers  # how many customers left


def test_behind_a_proxy_the_address_is_the_clients_as_the_proxy_saw_it(shop, manager, settings):
    settings.BEHIND_PROXY = True
    settings.PROXY_COUNT = 1
    client = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")
    client.force_login(manager)
    with NewEntries() as new:
        assert client.post(reverse("api-tokens"), {"name": "via proxy"}).status_code == 200
    assert new.only().address == "203.0.113.9"  # the left-hand hop is the client's own text
