"""Audit entries in the admin site: read only, even for superusers (the log is append-only)."""

from django.contrib import admin

from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "workspace", "actor_name", "action", "target_repr", "address")
    list_filter = ("workspace", "action")
    search_fields = ("actor_name", "target_repr")
    date_hierarchy = "at"

    def get_queryset(self, request):
        # The admin site spans workspaces on purpose; the workspace is a column.
        return AuditEntry.unscoped.select_related("workspace")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
