from django.contrib import admin

from .models import Workspace


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    """Site administrators (superusers) create and configure workspaces here; accounts.admin
    adds their members, as that app owns memberships."""

    list_display = ("name", "slug", "currency", "time_zone", "date_order", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    fields = (
        "name",
        "slug",
        "currency",
        "time_zone",
        "date_order",
        "code_page",
        "customer_ids_kept",
    )
