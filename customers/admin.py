from django.contrib import admin

from .models import Customer, ImportRecord, ImportRejectedRow


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = [
        "external_id",
        "country",
        "first_purchase_at",
        "last_purchase_at",
        "last_seen_at",
    ]
    search_fields = ["external_id"]
    list_filter = ["country"]


@admin.register(ImportRecord)
class ImportRecordAdmin(admin.ModelAdmin):
    list_display = ["id", "file_name", "status", "rows_read", "rows_imported", "created_at"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in ImportRecord._meta.fields]


@admin.register(ImportRejectedRow)
class ImportRejectedRowAdmin(admin.ModelAdmin):
    list_display = ["import_record", "line_number", "column", "message"]
    raw_id_fields = ["import_record"]


# TransactionLine is not registered: Django 5.2's admin refuses models with a composite
# primary key. Its lines are on the customer page and in the API (/api/v1/transactions/).
