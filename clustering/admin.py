from django.contrib import admin

from .models import SegmentationRun, WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("hostname", "seen_at", "tasks_seen")


@admin.register(SegmentationRun)
class SegmentationRunAdmin(admin.ModelAdmin):
    """Every workspace's runs, read only: runs are started, cancelled and published on the
    site, where the checks live."""

    list_display = ("id", "name", "workspace", "status", "is_published", "created_at")
    list_filter = ("workspace", "status", "is_published")
    list_select_related = ("workspace",)
    search_fields = ("name",)
    fields = (
        "workspace",
        "name",
        "status",
        "stage",
        "error",
        "created_by",
        "created_at",
        "finished_at",
        "is_published",
        "published_at",
        "published_by",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        # The admin site spans workspaces on purpose; the workspace is a column.
        return SegmentationRun.unscoped.without_report_data().select_related("workspace")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
