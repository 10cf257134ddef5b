"""The workspace's audit log for its admins (accounts.view_audit_log): filters, pages of
entries newest first, and the same entries as CSV."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from common.csv_export import csv_response

from .forms import AuditFilterForm
from .permissions import AUDIT_PERMISSION
from .selectors import audit_actor_names, audit_entries

ENTRIES_PER_PAGE = 50
CSV_HEADER = (
    "at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "target",
    "address",
    "details",
)


def _workspace(request: HttpRequest):
    """The request's workspace (accounts.workspace_access sets it on every request)."""
    return request.workspace  # type: ignore[attr-defined]


@require_GET
@permission_required(AUDIT_PERMISSION, raise_exception=True)
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    filters = form.filters() if form.is_valid() else {}
    status = 400 if form.is_bound and form.errors else 200
    entries = audit_entries(workspace=_workspace(request), **filters) if status == 200 else None
    page = (
        Paginator(entries, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
        if entries is not None
        else None
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/log.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "actor_names": audit_actor_names(workspace=_workspace(request)),
        },
        status=status,
    )


@require_GET
@permission_required(AUDIT_PERMISSION, raise_exception=True)
def audit_log_csv(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        errors = "; ".join(
            f"{name}: {' '.join(str(e) for e in field_errors)}"
            for name, field_errors in form.errors.items()
        )
        return HttpResponse(f"Bad filter: {errors}", status=400, content_type="text/plain")
    filters = form.filters() if form.is_bound else {}
    entries = audit_entries(workspace=_workspace(request), **filters)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return csv_response(
        f"audit-{_workspace(request).slug}-{stamp}.csv", CSV_HEADER, csv_rows(entries)
    )


def csv_rows(entries):
    for entry in entries.iterator(chunk_size=2000):
        yield (
            timezone.localtime(entry.at).isoformat(),
            entry.actor_name,
            entry.action,
            entry.target_type,
            entry.target_id,
            entry.target_repr,
            entry.address or "",
            json.dumps(entry.details, sort_keys=True),
        )
