"""Reads of customers, imports and lines, always of one workspace."""

from django.db.models import QuerySet

from .layouts import layout_signature
from .models import Customer, ImportLayout, ImportRecord, ImportRejectedRow, TransactionLine


def import_record_list(*, workspace) -> QuerySet[ImportRecord]:
    return (
        ImportRecord.objects.in_workspace(workspace)
        .select_related("workspace", "uploaded_by", "undone_by", "layout")
        .order_by("-created_at", "-id")
    )


def import_record_get(*, workspace, pk: int) -> ImportRecord:
    return import_record_list(workspace=workspace).get(pk=pk)


def import_rejected_rows(*, workspace, import_record: ImportRecord) -> QuerySet[ImportRejectedRow]:
    return (
        ImportRejectedRow.objects.in_workspace(workspace)
        .filter(import_record=import_record)
        .order_by("line_number", "id")
    )


def customer_list(*, workspace) -> QuerySet[Customer]:
    return Customer.objects.in_workspace(workspace)


def customers_with_email(*, workspace, email: str) -> QuerySet[Customer]:
    """The workspace's customers whose e-mail is ``email``, case aside (one person may be
    several customers): on the index customer_email_ci, which leaves empty e-mails out."""
    return (
        Customer.objects.in_workspace(workspace)
        .exclude(email="")
        .filter(email__iexact=email.strip())
        .order_by("external_id")
    )


def transaction_lines(*, workspace) -> QuerySet[TransactionLine]:
    return TransactionLine.objects.in_workspace(workspace)


def import_layout_list(*, workspace) -> QuerySet[ImportLayout]:
    return (
        ImportLayout.objects.in_workspace(workspace)
        .select_related("created_by", "updated_by")
        .order_by("-updated_at", "-id")
    )


def import_layout_for_columns(*, workspace, columns: list[str]) -> ImportLayout | None:
    """The remembered layout of a header (names compared normalised), if any."""
    signature = layout_signature(columns)
    return ImportLayout.objects.in_workspace(workspace).filter(signature=signature).first()
