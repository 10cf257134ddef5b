from django.apps import AppConfig


class SchedulesConfig(AppConfig):
    name = "schedules"
    verbose_name = "Scheduled refresh"

    def ready(self) -> None:
        from clustering.signals import run_finished

        from . import receivers

        run_finished.connect(receivers.on_run_finished, dispatch_uid="schedules.run_finished")
