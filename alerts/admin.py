from django.contrib import admin

from .models import Alert, AlertRule


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    """Every workspace's rules, read only: managers set them on the site (audit logged)."""

    list_display = ("id", "workspace", "kind", "threshold", "min_customers", "enabled")
    list_filter = ("workspace", "kind", "enabled")
    readonly_fields = ("workspace", "kind", "threshold", "min_customers", "enabled", "recipients")
    fields = readonly_fields

    def get_queryset(self, request):
        # The admin site spans workspaces on purpose; the workspace is a column.
        return AlertRule.unscoped.select_related("workspace")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("id", "workspace", "kind", "created_at", "acknowledged_at")
    list_filter = ("workspace", "kind")
    readonly_fields = (
        "workspace",
        "kind",
        "message",
        "created_at",
        "mailed_to",
        "mail_error",
        "mail_attempts",
        "mail_next_attempt_at",
    )
    fields = readonly_fields

    def get_queryset(self, request):
        return Alert.unscoped.select_related("workspace")

    def has_add_permission(self, request) -> bool:
        return False
