"""Every audit action, done the way users do it (a page or the API), leaves exactly one new
entry in the workspace's log naming the actor, the address and the target."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken, Membership
from accounts.services import api_token_create
from audit.models import AuditEntry
from tests.admin_forms import workspace_add_form
from tests.clustering.factories import executed_run, load_transactions, synthetic_lines

pytestmark = pytest.mark.django_db

Action = AuditEntry.Action
ADDRESS = "127.0.0.1"  # the test client's REMOTE_ADDR
SMALL_CSV = (
    b"InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    b"536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"
)
RUN_PARAMS = {"algorithms": ["kmeans"], "k_min": 2, "k_max": 3, "seed": 7}


@dataclass
class Shop:
    workspace: object
    manager: object
    admin: object

    def page(self, user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    def api(self, user) -> Client:
        _, secret = api_token_create(user=user, workspace=self.workspace, name="t", read_only=False)
        return Client(headers={"Authorization": f"Token {secret}"})


@dataclass
class Done:
    """What an action was done to and by whom: the entry must say the same."""

    target: object
    actor: str
    target_id: str = ""  # when not the pk (a token: its key, not its digest)
    workspace: object = None  # whose log holds the entry, when not the walk's shop


# Each action's walk: set up what it needs, then return a function that does it (and
# returns Done), so entries written while setting up are not counted.
WALKS: dict[str, Callable[[Shop], Callable[[], Done]]] = {}


def walk(action: str):
    def register(setup):
        WALKS[action] = setup
        return setup

    return register


def _form_as_shown(client: Client, url: str, **changes) -> dict:
    """The form's fields as the page shows them, with `changes`: what a browser posts."""
    form = client.get(url).context["form"]
    data = {}
    for field in form:
        value = changes.get(field.name, field.value())
        if value is True:
            data[field.name] = "on"
        elif value is not None and value is not False:
            data[field.name] = value
    return data


@walk(Action.IMPORT_STARTED)
def _import_started(shop: Shop):
    client = shop.page(shop.manager)

    def act():
        upload = SimpleUploadedFile("small.csv", SMALL_CSV, content_type="text/csv")
        response = client.post(reverse("customers:import-create"), {"file": upload})
        assert response.status_code == 302, response.content
        from customers.models import ImportRecord

        return Done(ImportRecord.objects.in_workspace(shop.workspace).latest("pk"), "manager")

    return act


@walk(Action.IMPORT_UNDONE)
def _import_undone(shop: Shop):
    record = load_transactions(synthetic_lines(20, seed=2), workspace=shop.workspace)
    client = shop.page(shop.manager)

    def act():
        response = client.post(reverse("customers:import-undo", args=[record.pk]))
        assert response.status_code == 302
        return Done(record, "manager")

    return act


@walk(Action.RUN_STARTED)
def _run_started(shop: Shop):
    load_transactions(synthetic_lines(80, seed=4), workspace=shop.workspace)
    api = shop.api(shop.manager)

    def act():
        response = api.post("/api/v1/runs/", {"k_max": 3}, content_type="application/json")
        assert response.status_code == 201, response.content
        from clustering.models import SegmentationRun

        return Done(
            SegmentationRun.objects.in_workspace(shop.workspace).get(pk=response.json()["id"]),
            "manager",
        )

    return act


@walk(Action.RUN_CANCELLED)
def _run_cancelled(shop: Shop):
    from clustering.params import params_from_input
    from clustering.services import run_create

    load_transactions(synthetic_lines(80, seed=4), workspace=shop.workspace)
    with transaction.atomic():
        run = run_create(
            workspace=shop.workspace,
            user=shop.manager,
            params=params_from_input(RUN_PARAMS),
            enqueue=False,
        )
    client = shop.page(shop.manager)

    def act():
        assert client.post(reverse("clustering:run-cancel", args=[run.pk])).status_code == 302
        return Done(run, "manager")

    return act


@walk(Action.RUN_PUBLISHED)
def _run_published(shop: Shop):
    load_transactions(synthetic_lines(80, seed=4), workspace=shop.workspace)
    run = executed_run(shop.workspace, shop.manager, RUN_PARAMS, name="To publish")
    client = shop.page(shop.manager)

    def act():
        assert client.post(reverse("clustering:run-publish", args=[run.pk])).status_code == 302
        run.refresh_from_db()
        assert run.is_published
        return Done(run, "manager")

    return act


@walk(Action.MEMBERS_EXPORTED)
def _members_exported(shop: Shop):
    from clustering.services import run_publish

    load_transactions(synthetic_lines(80, seed=4), workspace=shop.workspace)
    run = executed_run(shop.workspace, shop.manager, RUN_PARAMS, name="Published")
    run_publish(workspace=shop.workspace, run_id=run.pk, user=shop.manager)
    segment = run.segments.order_by("number").first()
    api = shop.api(shop.manager)

    def act():
        url = reverse("api-segment-members-csv", kwargs={"number": segment.number})
        response = api.get(url)
        assert response.status_code == 200
        b"".join(response.streaming_content)
        return Done(segment, "manager")

    return act


@walk(Action.TOKEN_CREATED)
def _token_created(shop: Shop):
    client = shop.page(shop.manager)

    def act():
        response = client.post(reverse("api-tokens"), {"name": "crm"})
        assert response.status_code == 200
        token = ApiToken.objects.in_workspace(shop.workspace).get(name="crm")
        return Done(token, "manager", token.token_key)

    return act


@walk(Action.TOKEN_REVOKED)
def _token_revoked(shop: Shop):
    token, secret = api_token_create(
        user=shop.manager, workspace=shop.workspace, name="leaving", read_only=True
    )
    api = Client(headers={"Authorization": f"Token {secret}"})

    def act():
        assert api.post(reverse("api-token-revoke-current")).status_code == 204
        assert not ApiToken.unscoped.filter(pk=token.pk).exists()
        return Done(token, "manager", token.token_key)

    return act


@walk(Action.MEMBER_ADDED)
def _member_added(shop: Shop, django_user_model=None):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("newcomer", password="pw-new-1")
    client = shop.page(shop.admin)

    def act():
        response = client.post(reverse("members"), {"username": "newcomer", "role": "marketing"})
        assert response.status_code == 302
        return Done(
            Membership.objects.in_workspace(shop.workspace).get(user__username="newcomer"),
            "admin",
        )

    return act


@walk(Action.ROLE_CHANGED)
def _role_changed(shop: Shop):
    membership = Membership.objects.in_workspace(shop.workspace).get(user=shop.manager)
    client = shop.page(shop.admin)

    def act():
        url = reverse("member-change-role", args=[membership.pk])
        response = client.post(url, {f"m{membership.pk}-role": "marketing"})
        assert response.status_code == 302
        membership.refresh_from_db()
        assert membership.role == "marketing"
        return Done(membership, "admin")

    return act


@walk(Action.MEMBER_REMOVED)
def _member_removed(shop: Shop):
    membership = Membership.objects.in_workspace(shop.workspace).get(user=shop.manager)
    client = shop.page(shop.admin)

    def act():
        response = client.post(reverse("member-remove", args=[membership.pk]))
        assert response.status_code == 302
        assert not Membership.unscoped.filter(pk=membership.pk).exists()
        return Done(membership, "admin")

    return act


@walk(Action.SCHEDULE_CHANGED)
def _schedule_changed(shop: Shop):
    client = shop.page(shop.manager)
    url = reverse("schedules:schedule")

    def act():
        data = _form_as_shown(client, url, enabled=True)
        response = client.post(url, data)
        assert response.status_code == 302, response.context["form"].errors
        from schedules.models import Schedule

        return Done(Schedule.objects.in_workspace(shop.workspace).get(), "manager")

    return act


@walk(Action.ALERT_RULE_CHANGED)
def _alert_rule_changed(shop: Shop):
    client = shop.page(shop.manager)

    def act():
        data = {"kind": "scheduled_run_failed", "enabled": "on", "recipients": ""}
        response = client.post(reverse("alerts:rule-create"), data)
        assert response.status_code == 302, response.context["form"].errors
        from alerts.models import AlertRule

        return Done(AlertRule.objects.in_workspace(shop.workspace).get(), "manager")

    return act


@walk(Action.WEBHOOK_CHANGED)
def _webhook_changed(shop: Shop):
    client = shop.page(shop.manager)

    def act():
        data = {
            "url": "https://93.184.215.14/hook",
            "description": "CRM",
            "events": ["alert.raised"],
            "alert_kinds": ["scheduled_run_failed"],
        }
        response = client.post(reverse("webhooks:endpoint-list"), data)
        assert response.status_code == 302, response.context["form"].errors
        from webhooks.models import Endpoint

        return Done(Endpoint.objects.in_workspace(shop.workspace).get(), "manager")

    return act


@walk(Action.SHOP_SETTINGS_CHANGED)
def _shop_settings_changed(shop: Shop):
    client = shop.page(shop.admin)

    def act():
        workspace = shop.workspace
        data = {
            "name": workspace.name,
            "currency": workspace.currency,
            "time_zone": "Europe/Madrid",
            "date_order": workspace.date_order,
            "code_page": workspace.code_page,
        }
        response = client.post(reverse("shop-settings"), data)
        assert response.status_code == 302, response.context["form"].errors
        return Done(type(workspace).objects.get(pk=workspace.pk), "admin")

    return act


@walk(Action.SHOP_CREATED)
def _shop_created(shop: Shop):
    from django.contrib.auth import get_user_model

    from workspaces.models import Workspace

    site_admin = get_user_model().objects.create_superuser("root", password="pw-root-1")
    client = shop.page(site_admin)

    def act():
        response = client.post(reverse("admin:workspaces_workspace_add"), workspace_add_form())
        assert response.status_code == 302, response.context["adminform"].form.errors
        garden = Workspace.objects.get(slug="garden")
        return Done(garden, "root", workspace=garden)

    return act


@walk(Action.PLAYBOOK_CHANGED)
def _playbook_changed(shop: Shop):
    client = shop.page(shop.manager)

    def act():
        data = {"action": "Free gift wrap on the next order.", "rationale": "Our policy."}
        response = client.post(reverse("clustering:playbook-edit", args=[0]), data)
        assert response.status_code == 302, response.context["form"].errors
        from clustering.models import PlaybookAction

        return Done(PlaybookAction.objects.in_workspace(shop.workspace).get(), "manager")

    return act


@walk(Action.CONTACT_ERASED)
def _contact_erased(shop: Shop):
    from customers.models import Customer

    load_transactions(synthetic_lines(5, seed=3), workspace=shop.workspace)
    customer = Customer.objects.in_workspace(shop.workspace).first()
    client = shop.page(shop.admin)

    def act():
        url = reverse("customers:customer-erase-contact", args=[customer.pk])
        assert client.post(url).status_code == 302
        return Done(customer, "admin")

    return act


@walk(Action.CUSTOMER_REMOVED)
def _customer_removed(shop: Shop):
    from customers.models import Customer

    load_transactions(synthetic_lines(5, seed=3), workspace=shop.workspace)
    customer = Customer.objects.in_workspace(shop.workspace).first()
    client = shop.page(shop.manager)

    def act():
        url = reverse("customers:customer-remove", args=[customer.pk])
        assert client.post(url).status_code == 302
        assert not Customer.objects.in_workspace(shop.workspace).filter(pk=customer.pk).exists()
        return Done(customer, "manager")

    return act


@walk(Action.CUSTOMER_LET_BACK_IN)
def _customer_let_back_in(shop: Shop):
    from customers.models import KeptOutCustomer

    kept = KeptOutCustomer.objects.create(workspace=shop.workspace, external_id="17850")
    client = shop.page(shop.manager)

    def act():
        assert client.post(reverse("customers:kept-out"), {"pk": kept.pk}).status_code == 302
        assert not KeptOutCustomer.objects.in_workspace(shop.workspace).exists()
        return Done(kept, "manager")

    return act


@walk(Action.CUSTOMERS_KEPT_OUT)
def _customers_kept_out(shop: Shop):
    from customers.models import KeptOutCustomer

    client = shop.page(shop.manager)

    def act():
        listed = {"customer_ids": "TEST-1\nTEST-2"}
        assert client.post(reverse("customers:kept-out"), listed).status_code == 302
        assert KeptOutCustomer.objects.in_workspace(shop.workspace).count() == 2
        return Done(shop.workspace, "manager")

    return act


def test_the_walk_covers_every_action():
    assert set(WALKS) == set(Action.values)


@pytest.fixture
def walk_shop(shop, make_user):
    return Shop(
        shop, make_user("manager", username="manager"), make_user("admin", username="admin")
    )


@pytest.mark.parametrize("action", Action.values)
def test_each_action_leaves_exactly_one_entry(walk_shop, action):
    act = WALKS[action](walk_shop)
    before = set(AuditEntry.unscoped.values_list("pk", flat=True))
    done = act()
    new = list(AuditEntry.unscoped.exclude(pk__in=before))
    assert len(new) == 1, [(e.action, e.actor_name) for e in new]
    entry = new[0]
    assert (entry.workspace, entry.action) == (done.workspace or walk_shop.workspace, action)
    assert entry.actor_name == done.actor
    assert entry.actor.get_username() == done.actor
    assert entry.address == ADDRESS
    expected_id = done.target_id or str(done.target.pk)
    assert (entry.target_type, entry.target_id) == (done.target._meta.label_lower, expected_id)
    assert entry.target_repr == str(done.target)[:200]
