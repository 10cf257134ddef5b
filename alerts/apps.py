from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from clustering.signals import reaper_tick, run_finished, segmentation_published

        from . import receivers

        segmentation_published.connect(
            receivers.on_segmentation_published, dispatch_uid="alerts-on-published"
        )
        run_finished.connect(receivers.on_run_finished, dispatch_uid="alerts-on-run-finished")
        reaper_tick.connect(receivers.redispatch_overdue, dispatch_uid="alerts-overdue")
