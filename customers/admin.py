from django.contrib import admin

from .models import Customer, ImportRecord, ImportRejectedRow, TransactionLine


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


@admin.register(TransactionLine)
class TransactionLineAdmin(admin.ModelAdmin):
    list_display = ["invoice", "customer", "product_code", "quantity", "amount", "timestamp"]
    raw_id_fields = ["customer", "import_record"]
    search_fields = ["invoice", "customer__external_id"]
    show_full_result_count = False
