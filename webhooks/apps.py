from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from clustering.signals import alerts_raised, reaper_tick, segmentation_published
        from customers.signals import customer_removed, customers_removed

        from .receivers import (
            announce_alerts,
            announce_publication,
            announce_removal,
            announce_removals,
            redispatch_overdue,
        )

        segmentation_published.connect(announce_publication, dispatch_uid="webhooks-announce")
        alerts_raised.connect(announce_alerts, dispatch_uid="webhooks-alerts")
        reaper_tick.connect(redispatch_overdue, dispatch_uid="webhooks-overdue")
        customer_removed.connect(announce_removal, dispatch_uid="webhooks-removal")
        customers_removed.connect(announce_removals, dispatch_uid="webhooks-removals")
