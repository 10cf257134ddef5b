"""Reads of the webhooks app; each takes the workspace."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet

from .models import Delivery, DeliveryAttempt, Endpoint


def endpoint_list(*, workspace) -> QuerySet[Endpoint]:
    """The workspace's endpoints, newest first, with their failed deliveries counted."""
    return Endpoint.objects.in_workspace(workspace).annotate(
        failed_count=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.FAILED))
    )


def endpoint_get(*, workspace, endpoint_id: int) -> Endpoint | None:
    return Endpoint.objects.in_workspace(workspace).filter(pk=endpoint_id).first()


def delivery_list(*, workspace, endpoint: Endpoint | None = None) -> QuerySet[Delivery]:
    """Deliveries newest first, each with its attempts (newest first) at hand."""
    deliveries = (
        Delivery.objects.in_workspace(workspace)
        .select_related("endpoint", "publication", "publication__run")
        .prefetch_related(
            Prefetch(
                "attempt_log",
                queryset=DeliveryAttempt.objects.in_workspace(workspace).order_by("-at", "-pk"),
            )
        )
    )
    if endpoint is not None:
        deliveries = deliveries.filter(endpoint=endpoint)
    return deliveries
