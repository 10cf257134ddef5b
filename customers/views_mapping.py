"""The mapping step of an import (guesses, explanations, a preview) and the pages of the
workspace's remembered layouts."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.forms import BoundField
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from transaction_files.columns import FIELDS
from transaction_files.errors import ImportFileError
from transaction_files.guesses import EXPLANATIONS, Guess

from .forms import ImportMappingForm
from .layouts import MappingAdvice, import_layout_forget, import_layout_update, mapping_advice
from .models import ImportRecord
from .selectors import import_layout_list
from .services import import_record_set_mapping

IMPORT_PERMISSION = "accounts.import_data"
# How a parsed date is shown in each date order: the order the shop writes its dates in.
DATE_FORMATS = {"dayfirst": "d/m/Y H:i", "monthfirst": "m/d/Y H:i"}
ISO_FORMAT = "Y-m-d H:i"


@dataclass
class FieldRow:
    field: BoundField
    explanation: str
    guess: Guess | None


def _rows(form: ImportMappingForm, advice: MappingAdvice | None) -> list[FieldRow]:
    guesses = advice.guesses.by_field if advice else {}
    return [FieldRow(form[f"map_{name}"], EXPLANATIONS[name], guesses.get(name)) for name in FIELDS]


def _current_mapping(form: ImportMappingForm, record: ImportRecord) -> dict[str, str]:
    if form.is_bound:
        return {
            name: form.data.get(f"map_{name}", "")
            for name in FIELDS
            if form.data.get(f"map_{name}") in record.columns
        }
    return dict(record.mapping)


def mapping_step(request: HttpRequest, record: ImportRecord) -> HttpResponse | dict:
    """The import page's mapping step: a redirect once the mapping is accepted, else what
    the page shows (form, guesses, explanations, preview, columns left out)."""
    form = ImportMappingForm(
        request.POST or None,
        columns=record.columns,
        initial_mapping=record.mapping,
        workspace=request.workspace,
        # the workspace's order shows as such: submitted unchanged, it stays a default
        initial={"date_order": record.date_order if record.date_order_chosen else ""},
    )
    if form.is_bound:
        form.is_valid()  # a preview shows the same errors as an import would
    chosen = _chosen_date_order(form, record)
    try:
        advice = mapping_advice(
            workspace=request.workspace,
            import_record=record,
            mapping=_current_mapping(form, record),
            date_order=chosen,
        )
    except ImportFileError as exc:
        form.add_error(None, f"The file's first rows cannot be shown: {exc}")
        advice = None
    importing = request.method == "POST" and request.POST.get("action") != "preview"
    if importing and advice is not None and advice.preview.contradiction:
        # the import would fail on it: the order is chosen here, before anything is queued
        form.add_error("date_order", advice.preview.contradiction)
    elif importing and form.is_valid():
        try:
            import_record_set_mapping(
                workspace=request.workspace,
                import_record=record,
                mapping=form.mapping(),
                date_order=form.cleaned_data["date_order"],
            )
        except ImportFileError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Mapping saved; the import is running.")
            return redirect(record)
    mapping = _current_mapping(form, record)
    used_order = (advice.preview.date_order if advice else None) or chosen or record.date_order
    return {
        "mapping_form": form,
        "mapping_rows": _rows(form, advice),
        "advice": advice,
        "ignored": [c for c in record.columns if c not in set(mapping.values())],
        "date_format": DATE_FORMATS.get(used_order or "", ISO_FORMAT),
    }


def _chosen_date_order(form: ImportMappingForm, record: ImportRecord) -> str:
    """The date order chosen for the file ("" for the workspace's), as the form stands."""
    if not form.is_bound:
        return record.date_order if record.date_order_chosen else ""
    chosen = form.data.get("date_order", "")
    return chosen if chosen in ImportRecord.DateOrder.values else ""


@require_GET
@permission_required(IMPORT_PERMISSION, raise_exception=True)
def layout_list(request: HttpRequest) -> HttpResponse:
    layouts = import_layout_list(workspace=request.workspace)[:200]
    return render(request, "customers/layout_list.html", {"layouts": layouts, "fields": FIELDS})


@require_http_methods(["GET", "POST"])
@permission_required(IMPORT_PERMISSION, raise_exception=True)
def layout_edit(request: HttpRequest, layout_id: int) -> HttpResponse:
    layout = get_object_or_404(import_layout_list(workspace=request.workspace), pk=layout_id)
    form = ImportMappingForm(
        request.POST or None,
        columns=layout.columns,
        initial_mapping=layout.mapping,
        workspace=request.workspace,
        initial={"date_order": layout.date_order},
    )
    if request.method == "POST" and form.is_valid():
        try:
            import_layout_update(
                workspace=request.workspace,
                layout_id=layout.pk,
                mapping=form.mapping(),
                date_order=form.cleaned_data["date_order"],
                user=request.user,
            )
        except ImportFileError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Layout saved: the next file with these columns uses it.")
            return redirect("customers:layout-list")
    rows = [FieldRow(form[f"map_{name}"], EXPLANATIONS[name], None) for name in FIELDS]
    return render(
        request,
        "customers/layout_edit.html",
        {"layout": layout, "form": form, "mapping_rows": rows},
    )


@require_http_methods(["GET", "POST"])
@permission_required(IMPORT_PERMISSION, raise_exception=True)
def layout_forget(request: HttpRequest, layout_id: int) -> HttpResponse:
    """GET asks for confirmation; POST forgets the layout."""
    layout = get_object_or_404(import_layout_list(workspace=request.workspace), pk=layout_id)
    if request.method == "POST":
        import_layout_forget(workspace=request.workspace, layout_id=layout.pk)
        messages.success(request, "Layout forgotten: the next file with these columns asks.")
        return redirect("customers:layout-list")
    return render(request, "customers/layout_forget.html", {"layout": layout})
