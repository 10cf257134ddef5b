"""An endpoint that takes alerts may take some kinds only (a channel of the team that runs
the schedule: failed runs only), on the pages and the API; the others go to endpoints that
chose them, or take every kind."""

from __future__ import annotations

import re

from django.urls import reverse

from audit.models import AuditEntry
from clustering.signals import AlertKind
from webhooks import services
from webhooks.models import Delivery, Endpoint

from .conftest import raised_alert
from .test_alert_event import queued  # noqa: F401 (a fixture)

HOOK = "https://93.184.215.14/hook"
FAILED = AlertKind.SCHEDULED_RUN_FAILED.value
SHRANK = AlertKind.SEGMENT_SIZE_CHANGE.value


def test_each_endpoint_hears_of_the_kinds_it_chose(shop, queued):  # noqa: F811
    make = Endpoint.objects.create
    ops = make(workspace=shop, url=HOOK + "/ops", alert_kinds=[FAILED])
    every = make(workspace=shop, url=HOOK + "/all")
    make(workspace=shop, url=HOOK + "/news", events=["segmentation.published"])
    services.deliveries_for_alerts(
        workspace=shop, alerts=[raised_alert(1, FAILED), raised_alert(2, SHRANK)]
    )
    sent = Delivery.objects.in_workspace(shop).values_list("endpoint", "alert_id")
    assert sorted(sent) == sorted([(ops.pk, 1), (every.pk, 1), (every.pk, 2)])
    assert ops.receives_alert(FAILED) and not ops.receives_alert(SHRANK)
    assert ops.events_in_words == "publications, alerts (1 of 4 kinds) and removals"


def test_a_manager_chooses_the_kinds_when_registering_and_later(page, shop):
    url = reverse("webhooks:endpoint-list")
    data = {"url": HOOK, "events": ["alert.raised"]}
    refused = page.post(url, data).content.decode()  # every kind unticked
    assert "Choose at least one kind of alert, or untick “Each alert raised”." in refused
    assert not Endpoint.objects.in_workspace(shop).exists()
    page.post(url, {**data, "alert_kinds": [FAILED]})
    endpoint = Endpoint.objects.in_workspace(shop).get()
    assert (endpoint.events, endpoint.alert_kinds) == (["alert.raised"], [FAILED])
    assert "<td>alerts (1 of 4 kinds)</td>" in page.get(url).content.decode()

    detail = page.get(reverse("webhooks:endpoint-detail", args=[endpoint.pk])).content.decode()
    ticked = re.findall(r'name="alert_kinds" value="([^"]+)"[^>]*\bchecked', detail)
    assert ticked == [FAILED]
    events = reverse("webhooks:endpoint-events", args=[endpoint.pk])
    every_kind = {"events": ["alert.raised"], "alert_kinds": list(AlertKind.values)}
    assert page.post(events, every_kind).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.alert_kinds == []  # every kind, those added later too
    # unticking alerts drops the kinds, whatever boxes stay ticked below
    page.post(events, {"events": ["segmentation.published"], "alert_kinds": [SHRANK]})
    endpoint.refresh_from_db()
    assert (endpoint.events, endpoint.alert_kinds) == (["segmentation.published"], [])
    cleared = page.post(events, {"events": ["alert.raised", "customer.removed"]})
    assert cleared.status_code == 400  # shown beside the boxes, as ticked, nothing saved
    shown = cleared.content.decode()
    assert "Choose at least one kind of alert" in shown
    ticked = re.findall(r'name="events" value="([^"]+)"[^>]*\bchecked', shown)
    assert ticked == ["alert.raised", "customer.removed"]
    assert not re.findall(r'name="alert_kinds" value="([^"]+)"[^>]*\bchecked', shown)
    endpoint.refresh_from_db()
    assert endpoint.events == ["segmentation.published"]
    changes = AuditEntry.objects.in_workspace(shop).filter(action="webhook_changed")
    assert [e.details.get("alert_kinds") for e in changes.order_by("at", "pk")] == [
        [FAILED],
        None,
        None,
    ]


def test_the_api_sets_and_changes_the_kinds(api, shop):
    created = api.post(
        reverse("api-webhooks"),
        {"url": HOOK, "alert_kinds": [FAILED, SHRANK]},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["alert_kinds"] == [SHRANK, FAILED]  # in the list's order
    url = reverse("api-webhook-detail", args=[created.json()["id"]])
    patched = api.patch(url, {"alert_kinds": [FAILED]}, "application/json")
    assert (patched.status_code, patched.json()["alert_kinds"]) == (200, [FAILED])
    bad = api.patch(url, {"alert_kinds": ["run.done"]}, "application/json")
    assert bad.status_code == 400 and "alert_kinds" in bad.json()["fields"]
    # leaving alerts drops the kinds; choosing kinds without alerts is refused
    left = api.patch(url, {"events": ["segmentation.published"]}, "application/json")
    assert left.json()["alert_kinds"] == []
    refused = api.patch(url, {"alert_kinds": [FAILED]}, "application/json")
    assert refused.status_code == 400
    assert refused.json()["fields"] == {
        "alert_kinds": [
            "Alert kinds are chosen for an endpoint that receives alerts (alert.raised)."
        ]
    }
    both = api.patch(url, {"events": ["alert.raised"], "alert_kinds": [SHRANK]}, "application/json")
    assert (both.json()["events"], both.json()["alert_kinds"]) == (["alert.raised"], [SHRANK])
    endpoint = Endpoint.objects.in_workspace(shop).get()
    assert (endpoint.events, endpoint.alert_kinds) == (["alert.raised"], [SHRANK])
