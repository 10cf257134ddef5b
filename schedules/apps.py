from django.apps import AppConfig


class SchedulesConfig(AppConfig):
    name = "schedules"
    verbose_name = "Scheduled refresh"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from clustering.signals import run_finished
        from workspaces.models import Workspace

        from . import receivers

        run_finished.connect(receivers.on_run_finished, dispatch_uid="schedules.run_finished")
        post_save.connect(
            receivers.on_workspace_saved, sender=Workspace, dispatch_uid="schedules.workspace"
        )
