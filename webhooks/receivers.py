"""What the webhooks app does when a segmentation is published, alerts are raised or
customers are removed (queue one delivery per enabled endpoint and event) and when the
workers' reaper looks for lost work (queue again the deliveries no worker took); connected
in WebhooksConfig.ready."""

from __future__ import annotations

from .services import (
    deliveries_for_alerts,
    deliveries_for_publication,
    deliveries_for_removal,
    deliveries_for_removals,
    deliveries_redispatch_overdue,
)


def announce_publication(sender, publication, **kwargs) -> None:
    deliveries_for_publication(workspace=publication.workspace, publication=publication)


def announce_alerts(sender, workspace, alerts, **kwargs) -> None:
    deliveries_for_alerts(workspace=workspace, alerts=alerts)


def announce_removal(sender, workspace, removal, **kwargs) -> None:
    deliveries_for_removal(workspace=workspace, removal=removal)


def announce_removals(sender, workspace, removal, **kwargs) -> None:
    deliveries_for_removals(workspace=workspace, removal=removal)


def redispatch_overdue(sender, **kwargs) -> None:
    deliveries_redispatch_overdue()
