"""What the webhooks app does when a segmentation is published or alerts are raised (queue
one delivery per enabled endpoint and event) and when the workers' reaper looks for lost
work (queue again the deliveries no worker took); connected in WebhooksConfig.ready."""

from __future__ import annotations

from .services import (
    deliveries_for_alerts,
    deliveries_for_publication,
    deliveries_redispatch_overdue,
)


def announce_publication(sender, publication, **kwargs) -> None:
    deliveries_for_publication(workspace=publication.workspace, publication=publication)


def announce_alerts(sender, workspace, alerts, **kwargs) -> None:
    deliveries_for_alerts(workspace=workspace, alerts=alerts)


def redispatch_overdue(sender, **kwargs) -> None:
    deliveries_redispatch_overdue()
