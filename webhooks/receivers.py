"""What the webhooks app does when a segmentation is published: queue one delivery per
enabled endpoint (connected in WebhooksConfig.ready)."""

from __future__ import annotations

from .services import deliveries_for_publication


def announce_publication(sender, publication, **kwargs) -> None:
    deliveries_for_publication(workspace=publication.workspace, publication=publication)
