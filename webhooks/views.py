"""Pages for webhooks: the endpoints, registering one, and one endpoint with its secret,
its actions (test, enable/disable, rotate the secret, delete) and its delivery log with
each attempt's answer, where a delivery can be sent again. Managers only (manage_runs):
webhooks announce runs' publications."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from clustering.signals import AlertKind
from workspaces.models import Workspace

from .addresses import AddressRefused, FormatRefused
from .forms import EndpointAddressForm, EndpointEventsForm, EndpointForm
from .models import Delivery, Endpoint
from .selectors import delivery_list, endpoint_get, endpoint_list
from .services import (
    WebhookError,
    delivery_redeliver,
    delivery_send_test,
    endpoint_create,
    endpoint_delete,
    endpoint_edit,
    endpoint_rotate_secret,
    endpoint_set_enabled,
    endpoint_set_events,
)

MANAGE = "accounts.manage_runs"


def _workspace(request: HttpRequest) -> Workspace:
    """The request's workspace (accounts.workspace_access.WorkspaceMiddleware)."""
    return cast(Workspace, request.workspace)  # type: ignore[attr-defined]


def _endpoint_or_404(request: HttpRequest, endpoint_id: int) -> Endpoint:
    endpoint = endpoint_get(workspace=_workspace(request), endpoint_id=endpoint_id)
    if endpoint is None:
        raise Http404("No such webhook endpoint")
    return endpoint


@permission_required(MANAGE, raise_exception=True)
def endpoint_list_view(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = endpoint_create(
                workspace=_workspace(request),
                user=request.user,
                url=form.cleaned_data["url"],
                description=form.cleaned_data["description"],
                events=form.cleaned_data["events"],
                alert_kinds=form.cleaned_data["alert_kinds"],
                format=form.cleaned_data["format"],
                request=request,
            )
        except AddressRefused as error:
            form.add_error("format" if isinstance(error, FormatRefused) else "url", str(error))
        else:
            messages.success(
                request,
                "Endpoint registered. Copy its secret to your receiver to check signatures.",
            )
            return redirect("webhooks:endpoint-detail", endpoint_id=endpoint.pk)
    endpoints = endpoint_list(workspace=_workspace(request))
    return render(request, "webhooks/endpoint_list.html", {"endpoints": endpoints, "form": form})


@require_GET
@permission_required(MANAGE, raise_exception=True)
def endpoint_detail(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint_or_404(request, endpoint_id)
    return _detail(request, endpoint)


def _address_form(endpoint: Endpoint) -> EndpointAddressForm:
    return EndpointAddressForm(
        initial={
            "url": endpoint.url,
            "description": endpoint.description,
            "format": endpoint.format,
        },
        auto_id="edit_%s",
    )


def _detail(
    request,
    endpoint: Endpoint,
    address: EndpointAddressForm | None = None,
    events: EndpointEventsForm | None = None,
    status: int = 200,
):
    """The endpoint's page; a form given is shown as sent, beside its errors."""
    deliveries = delivery_list(workspace=_workspace(request), endpoint=endpoint)
    page = Paginator(deliveries, 25).get_page(request.GET.get("page"))
    if events is None:
        kinds = endpoint.alert_kinds or AlertKind.values
        events = EndpointEventsForm(initial={"events": endpoint.events, "alert_kinds": kinds})
    return render(
        request,
        "webhooks/endpoint_detail.html",
        {
            "endpoint": endpoint,
            "page": page,
            "events_form": events,
            "address_form": address or _address_form(endpoint),
        },
        status=status,
    )


@require_POST
@permission_required(MANAGE, raise_exception=True)
def endpoint_edit_view(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint_or_404(request, endpoint_id)
    form = EndpointAddressForm(request.POST, auto_id="edit_%s")
    if not form.is_valid():  # shown beside the fields, with what was typed
        return _detail(request, endpoint, address=form, status=400)
    try:
        endpoint_edit(
            workspace=_workspace(request),
            endpoint_id=endpoint.pk,
            user=request.user,
            url=form.cleaned_data["url"],
            description=form.cleaned_data["description"],
            format=form.cleaned_data["format"],
            request=request,
        )
    except AddressRefused as error:  # the address moved meanwhile, or the format it takes
        form.add_error("format" if isinstance(error, FormatRefused) else "url", str(error))
        return _detail(request, endpoint, address=form, status=400)
    messages.success(request, "Saved: the endpoint's address, description and format.")
    return redirect("webhooks:endpoint-detail", endpoint_id=endpoint.pk)


@require_POST
@permission_required(MANAGE, raise_exception=True)
def endpoint_events(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint_or_404(request, endpoint_id)
    form = EndpointEventsForm(request.POST)
    if not form.is_valid():  # shown beside the boxes, with what was ticked
        return _detail(request, endpoint, events=form, status=400)
    endpoint_set_events(
        workspace=_workspace(request),
        endpoint_id=endpoint.pk,
        user=request.user,
        events=form.cleaned_data["events"],
        alert_kinds=form.cleaned_data["alert_kinds"],
        request=request,
    )
    messages.success(request, "Saved: what this endpoint receives.")
    return redirect("webhooks:endpoint-detail", endpoint_id=endpoint.pk)


@require_POST
@permission_required(MANAGE, raise_exception=True)
def endpoint_test(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint_or_404(request, endpoint_id)
    try:
        delivery_send_test(
            workspace=_workspace(request), endpoint_id=endpoint.pk, user=request.user
        )
    except AddressRefused as error:
        messages.error(request, f"Not sent: {error}")
    else:
        messages.info(request, "Test event queued; its answer appears in the log below.")
    return redirect("webhooks:endpoint-detail", endpoint_id=endpoint.pk)


@require_POST
@permission_required(MANAGE, raise_exception=True)
def endpoint_enable(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint_or_404(request, endpoint_id)
    enabled = request.POST.get("enabled") == "1"
    try:
        endpoint_set_enabled(
            workspace=_workspace(request),
            endpoint_id=endpoint.pk,
            user=request.user,
            enabled=enabled,
            request=request,
        )
    except AddressRefused as error:
        messages.error(request, f"Not enabled: {error}")
    else:
        messages.success(request, "Endpoint enabled." if enabled else "Endpoint disabled.")
    return redirect("webhooks:endpoint-detail", endpoint_id=endpoint.pk)


@require_POST
@permission_required(MANAGE, raise_exception=True)
def endpoint_rotate(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint_or_404(request, endpoint_id)
    endpoint_rotate_secret(
        workspace=_workspace(request), endpoint_id=endpoint.pk, user=request.user, request=request
    )
    messages.success(request, "New secret: deliveries are signed with it from now on.")
    return redirect("webhooks:endpoint-detail", endpoint_id=endpoint.pk)


@require_POST
@permission_required(MANAGE, raise_exception=True)
def endpoint_delete_view(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint_or_404(request, endpoint_id)
    endpoint_delete(
        workspace=_workspace(request), endpoint_id=endpoint.pk, user=request.user, request=request
    )
    messages.success(request, "Endpoint deleted, with its delivery log.")
    return redirect("webhooks:endpoint-list")


@require_POST
@permission_required(MANAGE, raise_exception=True)
def delivery_redeliver_view(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery = Delivery.objects.in_workspace(_workspace(request)).filter(pk=delivery_id).first()
    if delivery is None:
        raise Http404("No such delivery")
    try:
        delivery_redeliver(
            workspace=_workspace(request), delivery_id=delivery.pk, user=request.user
        )
    except WebhookError as error:
        messages.error(request, str(error))
    else:
        messages.info(request, "Sending again, with the same idempotency key.")
    return redirect("webhooks:endpoint-detail", endpoint_id=delivery.endpoint_id)
