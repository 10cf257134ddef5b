from django.db.models import QuerySet

from .models import Customer, ImportRecord, ImportRejectedRow, TransactionLine


def import_record_list() -> QuerySet[ImportRecord]:
    return ImportRecord.objects.select_related("uploaded_by").order_by("-created_at", "-id")


def import_record_get(*, pk: int) -> ImportRecord:
    return import_record_list().get(pk=pk)


def import_rejected_rows(*, import_record: ImportRecord) -> QuerySet[ImportRejectedRow]:
    return ImportRejectedRow.objects.filter(import_record=import_record).order_by(
        "line_number", "id"
    )


def customer_list() -> QuerySet[Customer]:
    return Customer.objects.all()


def transaction_lines() -> QuerySet[TransactionLine]:
    return TransactionLine.objects.all()
