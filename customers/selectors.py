"""Reads of customers, imports and lines, always of one workspace."""

import operator
from collections.abc import Iterable
from functools import reduce

from django.db.models import Q, QuerySet

from transaction_files.pseudonyms import is_email, pseudonym

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


def customers_with_emails(*, workspace, emails: Iterable[str]) -> QuerySet[Customer]:
    """The workspace's customers whose e-mail is one of ``emails``, case aside, as the
    database compares it (one person may be several customers); on the index
    customer_email_ci, which leaves empty e-mails out. A name holding NUL is nobody's
    (PostgreSQL stores no NUL) and is not sent."""
    wanted = [Q(email__iexact=e.strip()) for e in emails if e.strip() and "\x00" not in e]
    if not wanted:
        return Customer.objects.none()
    return (
        Customer.objects.in_workspace(workspace)
        .exclude(email="")
        .filter(reduce(operator.or_, wanted))
        .order_by("external_id")
    )


def email_pseudonyms(*, workspace, emails: Iterable[str]) -> dict[str, str]:
    """{pseudonym: e-mail} of those of ``emails`` that are addresses: the customer id each
    has in files that named customers by e-mail (transaction_files.pseudonyms)."""
    return {
        pseudonym(e, workspace.pseudonym_key): e for e in emails if "\x00" not in e and is_email(e)
    }


def customers_known_by_emails(*, workspace, emails: Iterable[str]) -> QuerySet[Customer]:
    """Those holding one of ``emails`` (customers_with_emails) and those whose id is one's
    pseudonym, unless their contact details were erased: an erased person is not found by
    their e-mail again. Personal data: for those who may see it."""
    emails = list(emails)
    by_alias = Customer.objects.in_workspace(workspace).filter(
        external_id__in=list(email_pseudonyms(workspace=workspace, emails=emails)),
        contact_erased_at__isnull=True,
    )
    return (customers_with_emails(workspace=workspace, emails=emails) | by_alias).order_by(
        "external_id"
    )


def customer_ids_by_email(*, workspace, emails: Iterable[str]) -> dict[str, list[str]]:
    """Each of ``emails`` with the ids of the customers it names (customers_known_by_emails),
    from one query."""
    emails = list(dict.fromkeys(emails))
    aliases = email_pseudonyms(workspace=workspace, emails=emails)
    known = customers_known_by_emails(workspace=workspace, emails=emails)
    found: dict[str, list[str]] = {e: [] for e in emails}
    for external_id, stored in known.values_list("external_id", "email"):
        for email in emails:
            same = stored and stored.strip().casefold() == email.strip().casefold()
            if same or aliases.get(external_id, "").casefold() == email.casefold():
                found[email].append(external_id)
    return found


def customer_ids_for_email(*, workspace, email: str) -> list[str]:
    """The ids of the workspace's customers known by ``email`` (customers_known_by_emails)."""
    known = customers_known_by_emails(workspace=workspace, emails=[email])
    return list(known.values_list("external_id", flat=True))


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
