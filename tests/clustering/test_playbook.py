"""A workspace's own playbook: a manager changes a segment name's action on the playbook page;
runs saved from then on show it (every page and API reads the saved segment), runs saved
before keep theirs, another workspace keeps the default, and an empty action goes back to it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from clustering.engine.naming import NAME_RULES
from clustering.models import PlaybookAction, Segment
from clustering.services import run_publish
from tests.clustering.factories import executed_run, load_transactions, synthetic_lines

pytestmark = pytest.mark.django_db
PARAMS = {"algorithms": ["kmeans"], "k_min": 2, "k_max": 4, "seed": 7}
OWN = "Hand-written card with the next parcel; never a discount code."


def _index(name: str) -> int:
    return next(i for i, rule in enumerate(NAME_RULES) if rule.name == name)


def test_a_managers_own_action_shows_in_the_runs_saved_from_then_on(
    shop, other_shop, make_user, client
):
    manager = make_user("manager")
    load_transactions(synthetic_lines(200, seed=5), workspace=shop)
    before = executed_run(shop, manager, PARAMS)
    named = Segment.unscoped.filter(run=before).order_by("number").first()
    base = named.name.split(" (")[0]
    default = next(r for r in NAME_RULES if r.name == base)
    assert named.action == default.action

    client.force_login(manager)
    page = client.get(reverse("clustering:playbook")).content.decode()
    assert all(escape(rule.name) in page for rule in NAME_RULES)
    assert 'data-role="own-action"' not in page
    edit = reverse("clustering:playbook-edit", args=[_index(base)])
    response = client.post(edit, {"action": f"  {OWN} ", "rationale": "Our shop's way."})
    assert response.status_code == 302
    page = client.get(reverse("clustering:playbook")).content.decode()
    assert OWN in page and page.count('data-role="own-action"') == 1

    after = executed_run(shop, manager, PARAMS)
    same = Segment.unscoped.get(run=after, name=named.name)
    assert (same.action, same.rationale) == (OWN, "Our shop's way.")
    # a run saved before keeps the advice it was made with
    named.refresh_from_db()
    assert named.action == default.action
    # the segment page shows the saved run's action, and where to change it
    page = client.get(same.get_absolute_url()).content.decode()
    assert OWN in page and f'{edit}"' in page  # (the link carries the workspace's prefix)

    # the dashboard tells managers that the published run's advice is not the playbook's now
    run_publish(workspace=shop, run_id=before.pk, user=manager)
    dashboard = client.get(reverse("home")).content.decode()
    assert 'data-role="playbook-outdated"' in dashboard and escape(named.name) in dashboard
    reader = Client()
    reader.force_login(make_user("marketing"))  # may not change the playbook: not told
    assert 'data-role="playbook-outdated"' not in reader.get(reverse("home")).content.decode()
    run_publish(workspace=shop, run_id=after.pk, user=manager)
    assert 'data-role="playbook-outdated"' not in client.get(reverse("home")).content.decode()

    # another workspace keeps the default
    load_transactions(synthetic_lines(200, seed=5), workspace=other_shop)
    other_manager = make_user("manager", username="other-manager", workspace=other_shop)
    theirs = executed_run(other_shop, other_manager, PARAMS)
    assert Segment.unscoped.get(run=theirs, name=named.name).action == default.action

    # an empty action goes back to the default
    assert client.post(edit, {"action": "", "rationale": ""}).status_code == 302
    assert not PlaybookAction.objects.in_workspace(shop).exists()
    again = executed_run(shop, manager, PARAMS)
    assert Segment.unscoped.get(run=again, name=named.name).action == default.action


def test_only_those_who_manage_runs_change_the_playbook(client_for):
    for role, allowed in (("marketing", False), ("manager", True), ("admin", True)):
        client = client_for(role)
        assert (client.get(reverse("clustering:playbook")).status_code == 200) is allowed, role
        response = client.post(
            reverse("clustering:playbook-edit", args=[0]), {"action": OWN, "rationale": ""}
        )
        assert (response.status_code == 302) is allowed, role
    # no role: refused before the name is even looked up
    assert client_for(None).get(reverse("clustering:playbook-edit", args=[99])).status_code == 403


def test_an_action_too_long_is_refused_with_the_reason_and_nothing_saved(client_for):
    client = client_for("manager")
    response = client.post(
        reverse("clustering:playbook-edit", args=[0]), {"action": "x" * 501, "rationale": ""}
    )
    assert response.status_code == 200
    assert "at most 500 characters" in response.content.decode()
    assert not PlaybookAction.unscoped.exists()
    assert (
        client.get(reverse("clustering:playbook-edit", args=[len(NAME_RULES)])).status_code == 404
    )


@pytest.mark.django_db(transaction=True)
def test_two_managers_setting_a_names_first_action_at_once_both_save(shop, make_user):
    """The second of two first saves waits for the first and updates its row (the unique
    constraint on (workspace, name) refused it before, a 500)."""
    from django.db import connection

    from clustering.playbook import playbook_set
    from tests.concurrent import second_writer_waits_then_runs
    from tests.conftest import require

    require(connection.vendor == "postgresql", "PostgreSQL")
    first, second = make_user("manager", "first"), make_user("manager", "second")
    index = _index(NAME_RULES[0].name)

    def save(user, words):
        return lambda: playbook_set(
            workspace=shop, index=index, action=words, rationale="", user=user, request=None
        )

    error = second_writer_waits_then_runs(save(first, OWN), save(second, "Call them."))
    assert error is None
    mine = PlaybookAction.objects.in_workspace(shop).get()
    assert (mine.name, mine.action, mine.updated_by) == (NAME_RULES[0].name, "Call them.", second)


def test_the_api_lists_the_playbook_and_a_manager_sets_an_action(client_for, shop):
    from audit.models import AuditEntry

    manager, marketing = client_for("manager"), client_for("marketing")
    listed = manager.get("/api/v1/playbook/")
    assert listed.status_code == 200
    rows = listed.json()
    assert [r["name"] for r in rows] == [rule.name for rule in NAME_RULES]
    assert [r["index"] for r in rows] == list(range(len(NAME_RULES)))
    assert not any(r["is_own"] for r in rows)
    assert all(r["action"] == r["default_action"] for r in rows)

    url = f"/api/v1/playbook/{_index('Champions')}/"
    put = manager.put(url, {"action": OWN, "rationale": "Ours."}, content_type="application/json")
    assert put.status_code == 200
    body = put.json()
    assert (body["name"], body["action"], body["is_own"]) == ("Champions", OWN, True)
    assert manager.get(url).json() == body
    mine = PlaybookAction.objects.in_workspace(shop).get()
    assert (mine.name, mine.action, mine.rationale) == ("Champions", OWN, "Ours.")
    entry = AuditEntry.objects.in_workspace(shop).get(action="playbook_changed")
    assert entry.details["name"] == "Champions" and entry.details["change"] == "set"

    # bad input: a clear error naming the field, nothing changed
    long = manager.put(url, {"action": "x" * 501}, content_type="application/json")
    assert long.status_code == 400 and "action" in long.json()["fields"]
    assert manager.put(url, {}, content_type="application/json").status_code == 400
    number = manager.put(url, {"action": 5}, content_type="application/json")
    assert number.status_code == 400 and number.json()["fields"] == {
        "action": ["Must be text (a JSON string)."]
    }
    assert PlaybookAction.objects.in_workspace(shop).get().action == OWN
    missing = manager.get(f"/api/v1/playbook/{len(NAME_RULES)}/")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"

    # an empty action goes back to the default
    back = manager.put(url, {"action": ""}, content_type="application/json")
    assert back.status_code == 200 and back.json()["is_own"] is False
    assert back.json()["action"] == back.json()["default_action"]
    assert not PlaybookAction.objects.in_workspace(shop).exists()

    # marketing may read neither the run reports nor the playbook, nor change it
    assert marketing.get("/api/v1/playbook/").status_code == 403
    refused = marketing.put(url, {"action": OWN}, content_type="application/json")
    assert refused.status_code == 403 and not PlaybookAction.objects.in_workspace(shop).exists()
