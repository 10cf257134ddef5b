"""The admin site spans workspaces on purpose: every workspace's customers and imports, with
the workspace as a column and a filter. Read only: customers and imports are made by the
import, and a form's checks would read with the scoped default manager."""

from django.contrib import admin

from accounts.admin import WorkspaceWithMembersAdmin
from workspaces.models import Workspace

from .models import Customer, ImportRecord, ImportRejectedRow
from .shop_settings import (
    currency_fixed_because,
    record_settings_changed,
    record_shop_created,
    settings_differences,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = [
        "external_id",
        "workspace",
        "country",
        "first_purchase_at",
        "last_purchase_at",
        "last_seen_at",
    ]
    search_fields = ["external_id"]
    list_filter = ["workspace", "country"]
    list_select_related = ["workspace"]

    def get_queryset(self, request):
        return Customer.unscoped.select_related("workspace")


@admin.register(ImportRecord)
class ImportRecordAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "file_name",
        "workspace",
        "status",
        "rows_read",
        "rows_imported",
        "created_at",
    ]
    list_filter = ["workspace", "status"]
    list_select_related = ["workspace"]
    # Its form field would list layouts through the scoped default manager, which refuses.
    exclude = ["layout"]

    def get_queryset(self, request):
        return ImportRecord.unscoped.select_related("workspace", "uploaded_by")


@admin.register(ImportRejectedRow)
class ImportRejectedRowAdmin(ReadOnlyAdmin):
    list_display = ["import_record", "workspace", "line_number", "column", "message"]
    list_filter = ["import_record__workspace"]
    list_select_related = ["import_record__workspace"]

    def get_queryset(self, request):
        return ImportRejectedRow.unscoped.select_related("import_record__workspace")

    @admin.display(ordering="import_record__workspace")
    def workspace(self, row: ImportRejectedRow):
        return row.import_record.workspace


# TransactionLine is not registered: Django 5.2's admin refuses models with a composite
# primary key. Its lines are on the customer page and in the API (/api/v1/transactions/).


admin.site.unregister(Workspace)


@admin.register(Workspace)
class WorkspaceWithLinesAdmin(WorkspaceWithMembersAdmin):
    """The workspace as accounts.admin shows it, with its currency read only once the shop
    holds lines (customers.shop_settings.currency_fixed_because): a new currency would
    relabel the amounts stored, not convert them. A shop created or changed here is in its
    audit log, as the settings page's changes are, in the admin's transaction."""

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and currency_fixed_because(obj) is not None:
            return (*fields, "currency")
        return fields

    def save_model(self, request, obj, form, change):
        before = Workspace.objects.get(pk=obj.pk) if change else None
        super().save_model(request, obj, form, change)
        if before is None:
            record_shop_created(workspace=obj, by=request.user)
        else:
            record_settings_changed(
                workspace=obj, by=request.user, changed=settings_differences(before, obj)
            )
