from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.roles import PERSONAL_DATA_PERMISSION
from common.csv_export import csv_response
from transaction_files.columns import FIELDS
from transaction_files.errors import ImportFileError
from transaction_files.placeholders import is_placeholder

from .erasure import BULK_ERASURE_MAX, customer_contact_erase, customers_contact_erase
from .forms import ContactErasureForm, ImportAgainForm, ImportUploadForm, KeepOutAheadForm
from .kept_out import (
    KEEP_OUT_AT_ONCE,
    KeepOutRefused,
    customer_let_back_in,
    customers_keep_out_ahead,
    kept_out_entries,
)
from .line_removal import (
    LinesNotRemovable,
    customer_remove,
    import_record_undo,
    transaction_line_remove,
)
from .models import Customer, ImportRecord, KeptOutCustomer, TransactionLine
from .selectors import customer_list, import_record_list, import_rejected_rows, transaction_lines
from .services import import_record_again, import_record_create
from .shop_settings import currency_fixed_because
from .views_mapping import mapping_step

IMPORT_PERMISSION = "accounts.import_data"
KEPT_OUT_PER_PAGE = 100


@permission_required(IMPORT_PERMISSION, raise_exception=True)
def import_list(request: HttpRequest) -> HttpResponse:
    imports = import_record_list(workspace=request.workspace)[:200]
    return render(request, "customers/import_list.html", {"imports": imports})


@permission_required(IMPORT_PERMISSION, raise_exception=True)
def import_create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ImportUploadForm(request.POST, request.FILES, workspace=request.workspace)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                record = import_record_create(
                    workspace=request.workspace,
                    file=upload,
                    file_name=upload.name,
                    uploaded_by=request.user,
                    date_order=form.cleaned_data["date_order"],
                    sheet=form.cleaned_data["sheet"],
                    allow_mapping_step=True,
                )
            except ImportFileError as exc:
                form.add_error("file", str(exc))
            else:
                if record.status == ImportRecord.Status.READING:
                    messages.info(
                        request,
                        "File received; it is being read. This page goes on to the import "
                        "(or asks which column holds which field) by itself.",
                    )
                elif record.status == ImportRecord.Status.NEEDS_MAPPING:
                    messages.info(request, "Check which column holds which field to go on.")
                elif record.layout_id:
                    messages.success(
                        request, "File received; the import is running with a remembered layout."
                    )
                else:
                    messages.success(request, "File received; the import is running.")
                return redirect(record)
    else:
        form = ImportUploadForm(workspace=request.workspace)
    # Before the first lines, the currency can still change: say so while it matters.
    first = currency_fixed_because(request.workspace) is None
    return render(request, "customers/import_form.html", {"form": form, "first_import": first})


@permission_required(IMPORT_PERMISSION, raise_exception=True)
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(import_record_list(workspace=request.workspace), pk=pk)
    mapping: dict = {}
    if record.status == ImportRecord.Status.NEEDS_MAPPING:
        step = mapping_step(request, record)
        if isinstance(step, HttpResponse):
            return step
        mapping = step
    rejected = import_rejected_rows(workspace=request.workspace, import_record=record)[:50]
    read = {} if mapping else _how_read(record)
    again = None
    if record.status == ImportRecord.Status.FAILED and record.file:
        again = ImportAgainForm(workspace=request.workspace, initial={"date_order": ""})
    largest = None
    if record.largest_customer_share is not None:  # warned of: offer its removal
        largest = (
            Customer.objects.in_workspace(request.workspace)
            .filter(external_id=record.summary["largest_customer"]["id"])
            .first()
        )
    return render(
        request,
        "customers/import_detail.html",
        {
            "record": record,
            "rejected": rejected,
            "again_form": again,
            "largest_customer": largest,
            **mapping,
            **read,
            "status_url": reverse("customers:import-status", args=[record.pk]),
        },
    )


def _how_read(record: ImportRecord) -> dict:
    """Which column gave each field, and the export the header was known as: what a manager
    checks when an import's figures surprise them."""
    mapping = record.mapping or {}
    if not mapping or not record.columns:
        return {}
    used = set(mapping.values())
    return {
        "columns_read": [(label, mapping[f]) for f, label in FIELDS.items() if mapping.get(f)],
        "columns_ignored": [c for c in record.columns if c not in used],
        "known_platform": record.recognised_as,
    }


@require_GET
@permission_required(IMPORT_PERMISSION, raise_exception=True)
def import_status(request: HttpRequest, pk: int) -> JsonResponse:
    record = get_object_or_404(import_record_list(workspace=request.workspace), pk=pk)
    return JsonResponse(
        {
            "id": record.pk,
            "status": record.status,
            "status_display": record.status_label,
            "stage": record.stage,
            "progress": record.progress,
            "finished": record.is_finished,
            "rows_read": record.rows_read,
            "rows_imported": record.rows_imported,
            "error": record.error,
        }
    )


@require_GET
@permission_required(IMPORT_PERMISSION, raise_exception=True)
def import_rejected_csv(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(import_record_list(workspace=request.workspace), pk=pk)
    rows = import_rejected_rows(workspace=request.workspace, import_record=record)
    rows = rows.iterator(chunk_size=2000)
    return csv_response(
        f"import-{record.pk}-rejected.csv",
        ["line", "column", "value", "message"],
        ((row.line_number, row.column, row.value, row.message) for row in rows),
    )


@require_POST
@permission_required(IMPORT_PERMISSION, raise_exception=True)
def import_again(request: HttpRequest, pk: int) -> HttpResponse:
    """A failed import's file imported again, as a new import, in the date order chosen."""
    record = get_object_or_404(import_record_list(workspace=request.workspace), pk=pk)
    form = ImportAgainForm(request.POST, workspace=request.workspace)
    if not form.is_valid():
        messages.error(request, "Choose one of the date orders offered.")
        return redirect(record)
    try:
        again = import_record_again(
            workspace=request.workspace,
            import_record_id=record.pk,
            date_order=form.cleaned_data["date_order"],
            user=request.user,
        )
    except ImportFileError as exc:
        messages.error(request, str(exc))
        return redirect(record)
    messages.success(request, f"The file of import #{record.pk} is being imported again.")
    return redirect(again)


@require_http_methods(["GET", "POST"])
@permission_required(IMPORT_PERMISSION, raise_exception=True)
def import_undo(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST removes the import's lines."""
    record = get_object_or_404(import_record_list(workspace=request.workspace), pk=pk)
    if request.method == "POST":
        try:
            removed = import_record_undo(
                workspace=request.workspace, import_record_id=record.pk, user=request.user
            )
        except LinesNotRemovable as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                f"Import undone: {removed.lines:,} lines removed, "
                f"{removed.customers_deleted:,} customers left with no lines deleted.",
            )
        return redirect(record)
    lines = transaction_lines(workspace=request.workspace).filter(import_record_id=record.pk)
    lines = lines.count()
    return render(request, "customers/import_undo.html", {"record": record, "lines": lines})


LINES_SHOWN = 200


@require_GET
@permission_required(IMPORT_PERMISSION, raise_exception=True)
def customer_lines(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(customer_list(workspace=request.workspace), pk=pk)
    # The workspace too, not customer.lines: the line table's key leads with it.
    lines = transaction_lines(workspace=request.workspace).filter(customer=customer)
    lines = lines.order_by("-timestamp", "-line_hash")
    shown = list(lines[:LINES_SHOWN])
    return render(
        request,
        "customers/customer_lines.html",
        {
            "customer": customer,
            "lines": shown,
            "shown": LINES_SHOWN,
            "line_count": lines.count() if len(shown) == LINES_SHOWN else len(shown),
            "placeholder": is_placeholder(
                customer.external_id, kept=request.workspace.kept_customer_ids
            ),
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required(IMPORT_PERMISSION, raise_exception=True)
def customer_remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST removes the customer with all their lines."""
    customer = get_object_or_404(customer_list(workspace=request.workspace), pk=pk)
    placeholder = is_placeholder(customer.external_id, kept=request.workspace.kept_customer_ids)
    if request.method == "POST":
        # imports skip a placeholder anyway: no need to list it
        keep_out = request.POST.get("keep_out") == "on" and not placeholder
        try:
            removed = customer_remove(
                workspace=request.workspace,
                customer_pk=customer.pk,
                user=request.user,
                keep_out=keep_out,
                request=request,
            )
        except Customer.DoesNotExist:  # removed meanwhile by someone else
            messages.info(request, f"Customer {customer.external_id} was already removed.")
        else:
            kept = " Later imports leave the id out." if keep_out else ""
            messages.success(
                request,
                f"Customer {customer.external_id} removed with {removed.lines:,} "
                f"line{'s' if removed.lines != 1 else ''}.{kept}",
            )
        return redirect("customer-lookup")
    lines = transaction_lines(workspace=request.workspace).filter(customer=customer)
    return render(
        request,
        "customers/customer_remove.html",
        {
            "customer": customer,
            "line_count": lines.count(),
            "imports": lines.values("import_record_id").distinct().count(),
            "placeholder": placeholder,
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required(IMPORT_PERMISSION, raise_exception=True)
def kept_out_list(request: HttpRequest) -> HttpResponse:
    """The ids the shop's imports skip; POST lets one back in (pk), or lists ids no import
    has stored yet (customer_ids)."""
    form = KeepOutAheadForm()
    stored = []
    if request.method == "POST" and "customer_ids" in request.POST:
        form = KeepOutAheadForm(request.POST)
        if form.is_valid():
            try:
                done = customers_keep_out_ahead(
                    workspace=request.workspace,
                    ids=form.cleaned_data["customer_ids"],
                    user=request.user,
                    request=request,
                )
            except KeepOutRefused as refused:
                for problem in refused.problems:
                    form.add_error("customer_ids", problem)
                stored = refused.stored
            else:
                messages.success(request, _kept_out_ahead_message(done))
                return redirect("customers:kept-out")
    elif request.method == "POST":
        try:
            kept = customer_let_back_in(
                workspace=request.workspace,
                pk=int(request.POST.get("pk", "")),
                user=request.user,
                request=request,
            )
        except (ValueError, KeptOutCustomer.DoesNotExist):  # let back in meanwhile
            messages.info(request, "That customer id was already let back in.")
        else:
            messages.success(
                request,
                f"Customer {kept.external_id} let back in: later imports store their lines. "
                "Import again a file that holds their earlier lines to have those.",
            )
        return redirect("customers:kept-out")
    search = request.GET.get("q", "").strip()
    kept_out = kept_out_entries(workspace=request.workspace, search=search)
    page = Paginator(kept_out, KEPT_OUT_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "customers/kept_out.html",
        {
            "page": page,
            "search": search,
            "form": form,
            "stored": stored,
            "most": KEEP_OUT_AT_ONCE,
        },
    )


@require_GET
@permission_required(IMPORT_PERMISSION, raise_exception=True)
def kept_out_csv(request: HttpRequest) -> HttpResponse:
    """The whole list (or those the search finds), for the shop's own records."""
    kept_out = kept_out_entries(workspace=request.workspace, search=request.GET.get("q", ""))
    return csv_response(
        f"{request.workspace.slug}-kept-out-customers.csv",
        ["customer_id", "kept_out_since", "kept_out_by", "how"],
        (
            (
                kept.external_id,
                kept.removed_at.isoformat(),
                kept.removed_by.get_username() if kept.removed_by else "",
                kept.source,
            )
            for kept in kept_out.iterator(chunk_size=2000)
        ),
    )


def _kept_out_ahead_message(done) -> str:
    listed = len(done.listed)
    said = f"{listed:,} customer id{'s' if listed != 1 else ''} kept out of later imports"
    if done.already:
        said += f" ({len(done.already):,} already were)"
    said += "."
    if done.emails == 1:
        said += " The e-mail address given is kept as its pseudonym, shown as e-…"
    elif done.emails:
        said += (
            f" The {done.emails:,} e-mail addresses given are kept as their pseudonyms, "
            "shown as e-…"
        )
    return said


@require_http_methods(["GET", "POST"])
@permission_required(IMPORT_PERMISSION, raise_exception=True)
def line_remove(request: HttpRequest, line_id) -> HttpResponse:
    """GET asks for confirmation; POST removes the line."""
    line = get_object_or_404(
        transaction_lines(workspace=request.workspace).select_related("customer", "import_record"),
        line_hash=line_id,
    )
    if request.method == "POST":
        try:
            removed = transaction_line_remove(
                workspace=request.workspace, line_id=line.line_hash, user=request.user
            )
        except TransactionLine.DoesNotExist:  # removed meanwhile by someone else
            removed = None
        messages.success(request, "Line removed.")
        if removed is not None and removed.customers_deleted:
            messages.info(request, "The customer had no other lines and was deleted.")
            return redirect(line.import_record)
        return redirect("customers:customer-lines", pk=line.customer_id)
    return render(request, "customers/line_remove.html", {"line": line})


@require_http_methods(["GET", "POST"])
@permission_required(PERSONAL_DATA_PERMISSION, raise_exception=True)
def customer_erase_contact(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST erases the customer's e-mail and name."""
    customer = get_object_or_404(Customer.objects.in_workspace(request.workspace), pk=pk)
    if request.method == "POST":
        customer_contact_erase(
            workspace=request.workspace, customer_pk=customer.pk, user=request.user, request=request
        )
        messages.success(
            request,
            f"E-mail and name of customer {customer.external_id} erased; later imports will not "
            "bring them back.",
        )
        query = urlencode({"customer_id": customer.external_id})
        return redirect(f"{reverse('customer-lookup')}?{query}")
    return render(
        request,
        "customers/customer_erase_contact.html",
        {"customer": customer, "files_kept_days": settings.IMPORT_FILES_KEEP_DAYS},
    )


@require_http_methods(["GET", "POST"])
@permission_required(PERSONAL_DATA_PERMISSION, raise_exception=True)
def customers_erase_contact(request: HttpRequest) -> HttpResponse:
    """Erase the e-mail and name of many customers at once, named by id or e-mail (pasted,
    or the customer lookup's list of those holding one e-mail); what matched no customer is
    said, not refused."""
    form = ContactErasureForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        done = customers_contact_erase(
            workspace=request.workspace,
            customer_ids=form.cleaned_data["customer_ids"],
            emails=form.cleaned_data["emails"],
            user=request.user,
            request=request,
        )
        if done.erased:
            ids = ", ".join(customer_id for customer_id, _ in done.erased)
            messages.success(
                request,
                f"E-mail and name of {len(done.erased):,} customer(s) erased ({ids}); later "
                "imports will not bring them back.",
            )
        missing = [*done.ids_not_found, *done.emails_not_found]
        if missing:
            messages.warning(request, f"No customer has or holds: {', '.join(missing)}.")
        return redirect("customers:customers-erase-contact")
    return render(
        request,
        "customers/customers_erase_contact.html",
        {
            "form": form,
            "most": BULK_ERASURE_MAX,
            "files_kept_days": settings.IMPORT_FILES_KEEP_DAYS,
        },
    )
