from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from clustering.signals import segmentation_published

        from .receivers import announce_publication

        segmentation_published.connect(announce_publication, dispatch_uid="webhooks-announce")
