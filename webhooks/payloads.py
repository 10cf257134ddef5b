"""What a webhook says: the publication, its run's segments, how customers moved since the
publication before, and where the integration reads the members; an alert raised, and
where to see it; or a customer removed (docs/webhooks.md)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from accounts.workspace_access import workspace_url
from clustering.models import Publication, Segment
from clustering.movements import movements_between

from .models import Format

PUBLISHED = "segmentation.published"
TEST = "webhook.test"


def _url(name: str, *args) -> str:
    return settings.SITE_URL.rstrip("/") + reverse(name, args=args)


def _when(value) -> str | None:
    return value.isoformat() if value is not None else None


def _segment_ref(ref) -> dict[str, Any] | None:
    return None if ref is None else {"number": ref.number, "name": ref.name}


def workspace_part(workspace) -> dict[str, Any]:
    return {"slug": workspace.slug, "name": workspace.name, "currency": workspace.currency}


def publication_part(workspace, publication: Publication) -> dict[str, Any]:
    run = publication.run
    segments = (
        Segment.objects.in_workspace(workspace)
        .filter(run=run)
        .order_by("number")
        .values("number", "name", "size", "share_customers", "share_revenue")
    )
    segments = [dict(segment) for segment in segments]
    publisher = publication.published_by
    return {
        "publication": {
            "id": publication.pk,
            "run_id": run.pk,
            "run_name": run.display_name,
            "published_at": _when(publication.published_at),
            "source": publication.source,
            "published_by": publisher.get_username() if publisher is not None else None,
        },
        "run": {
            "reference_date": _when(run.reference_date),
            "customers": run.n_customers,
            "segments": segments,
        },
        "movements": movements_part(workspace, publication),
        "links": {
            "segments": _url("api-segments"),
            "run": _url("api-run-detail", run.pk),
            "segment_members": [
                {
                    "number": segment["number"],
                    "members": _url("api-segment-members", segment["number"]),
                    "members_csv": _url("api-segment-members-csv", segment["number"]),
                }
                for segment in segments
            ],
        },
    }


def movements_part(workspace, publication: Publication) -> dict[str, Any] | None:
    """The flows between the publication before and this one; None for a first one."""
    movements = movements_between(workspace=workspace, later=publication)
    if movements is None:
        return None
    return {
        "previous_publication_id": publication.previous_id,
        "previous_run_id": movements.earlier_run.pk,
        "in_both": movements.in_both,
        "new": movements.new,
        "gone": movements.gone,
        "flows": [
            {
                "from": _segment_ref(flow.source),
                "to": _segment_ref(flow.target),
                "customers": flow.customers,
                "revenue": round(flow.revenue, 2),
                "moved": flow.moved,
            }
            for flow in movements.flows
        ],
    }


def delivery_payload(delivery) -> dict[str, Any]:
    """The body of a delivery: for a test event, the latest publication's news (or none)
    marked as a test, so a receiver can try its parsing on real data."""
    workspace = delivery.workspace
    body: dict[str, Any] = {
        "event": delivery.event,
        "id": str(delivery.idempotency_key),
        "created_at": _when(delivery.created_at),
        "workspace": workspace_part(workspace),
    }
    if delivery.event == TEST:
        body["test"] = True
    publication = delivery.publication
    if publication is not None:
        body.update(publication_part(workspace, publication))
    else:
        body.update({"publication": None, "run": None, "movements": None, "links": None})
    return body


def alert_payload(delivery, alert: dict[str, Any]) -> dict[str, Any]:
    """The body of an alert's delivery: the alert as raised (clustering.signals.alerts_raised)
    and the addresses of the workspace's alerts page and of the API's alerts."""
    workspace = delivery.workspace
    site = settings.SITE_URL.rstrip("/")
    return {
        "event": delivery.event,
        "id": str(delivery.idempotency_key),
        "created_at": _when(delivery.created_at),
        "workspace": workspace_part(workspace),
        "alert": {
            **alert,
            "links": {
                "page": site + workspace_url(workspace, reverse("alerts:index")),
                "alerts": _url("api-alerts"),
            },
        },
    }


def removal_payload(delivery, removal: dict[str, Any]) -> dict[str, Any]:
    """The body of a customer's removal (customers.signals.customer_removed): who was
    removed, when and by whom, and whether imports keep them out; no contact details."""
    return {
        "event": delivery.event,
        "id": str(delivery.idempotency_key),
        "created_at": _when(delivery.created_at),
        "workspace": workspace_part(delivery.workspace),
        "customer": removal,
    }


def removals_payload(delivery, removals: dict[str, Any]) -> dict[str, Any]:
    """The body of customers removed together (an undone import): why, when and by whom,
    how many, and this part's customer ids; no contact details."""
    return {
        "event": delivery.event,
        "id": str(delivery.idempotency_key),
        "created_at": _when(delivery.created_at),
        "workspace": workspace_part(delivery.workspace),
        "removal": removals,
    }


def chat_line(body: dict[str, Any]) -> tuple[str, str]:
    """An event's body said in one line of text, and the page to read more at."""
    workspace = body["workspace"]
    site = settings.SITE_URL.rstrip("/")
    shop = f"{site}/w/{workspace['slug']}/"
    if body.get("customer"):
        removal = body["customer"]
        lines = removal["lines_removed"]
        kept = "; imports keep them out" if removal["kept_out"] else ""
        by = f" by {removal['removed_by']}" if removal["removed_by"] else ""
        return (
            f"{workspace['name']}: customer {removal['customer_id']} was removed with "
            f"{lines:,} line{'s' if lines != 1 else ''}{by}{kept}.",
            shop,
        )
    if body.get("removal"):
        removal = body["removal"]
        count = removal["customers"]
        by = f" by {removal['removed_by']}" if removal["removed_by"] else ""
        return (
            f"{workspace['name']}: import #{removal['import_id']} ({removal['file_name']}) "
            f"was undone{by}: the {count:,} customer{'s' if count != 1 else ''} only it "
            f"brought {'were' if count != 1 else 'was'} removed.",
            shop,
        )
    if body.get("alert"):
        alert = body["alert"]
        return f"{workspace['name']}: {alert['message'].rstrip('.')}.", alert["links"]["page"]
    prefix = "Test: " if body.get("test") else ""
    publication, run = body.get("publication"), body.get("run")
    if not publication or not run:
        return f"{prefix}{workspace['name']}: nothing is published yet.", shop
    moved = body.get("movements")
    since = (
        f"; since the last one, {moved['new']:,} new and {moved['gone']:,} gone" if moved else ""
    )
    return (
        f"{prefix}{workspace['name']}: segmentation “{publication['run_name']}” "
        f"published, {run['customers']:,} customers in {len(run['segments'])} segments"
        f"{since}.",
        shop,
    )


def as_chat(body: dict[str, Any]) -> dict[str, Any]:
    """An event's body as a chat channel's incoming webhook takes it: one line of text,
    ending with where to read more ({"text": ...}, which Slack, Google Chat and Mattermost
    accept)."""
    text, page = chat_line(body)
    return {"text": f"{text} {page}"}


#: The Adaptive Card schema version written (Teams renders up to 1.5).
CARD_VERSION = "1.4"


def as_teams_card(body: dict[str, Any]) -> dict[str, Any]:
    """An event's body as a Teams channel's Workflows webhook takes it ("When a Teams
    webhook request is received"): a message whose attachment is an Adaptive Card, the
    only format Workflows post (the retired Office 365 connectors took plain text)."""
    text, page = chat_line(body)
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": [{"type": "TextBlock", "text": text, "wrap": True}],
        "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": page}],
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def body_for(delivery, body: dict[str, Any]) -> dict[str, Any]:
    """The body as the delivery's endpoint takes it (Endpoint.format)."""
    if delivery.endpoint.format == Format.CHAT:
        return as_chat(body)
    if delivery.endpoint.format == Format.TEAMS:
        return as_teams_card(body)
    return body
