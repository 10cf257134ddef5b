"""Pages of the alerts app: the rules (managers change them, every member reads them), the
alerts raised, and acknowledging one. Thin: the form checks, services write."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from workspaces.models import Workspace

from .forms import AlertRuleForm
from .models import AlertRule
from .selectors import alert_list, latest_publication_check, rule_list
from .services import (
    RULE_FIELDS,
    AlertError,
    alert_acknowledge,
    alert_mail_again,
    alert_rule_create,
    alert_rule_delete,
    alert_rule_update,
)

READ = "accounts.view_segments"
# Managers manage runs, and the rules that watch them.
MANAGE = "accounts.manage_runs"

#: How many alerts the history shows.
HISTORY_LENGTH = 200


def _workspace(request: HttpRequest) -> Workspace:
    """The request's workspace (accounts.workspace_access.WorkspaceMiddleware)."""
    return cast(Workspace, request.workspace)  # type: ignore[attr-defined]


def _member(request: HttpRequest) -> User:
    """The signed-in member (LoginRequiredMiddleware lets no one else this far)."""
    return cast(User, request.user)


@require_GET
@permission_required(READ, raise_exception=True)
def alert_index(request: HttpRequest) -> HttpResponse:
    workspace = _workspace(request)
    return render(
        request,
        "alerts/index.html",
        {
            "rules": rule_list(workspace=workspace),
            "alerts": alert_list(workspace=workspace)[:HISTORY_LENGTH],
            "check": latest_publication_check(workspace=workspace),
            "can_manage": request.user.has_perm(MANAGE),
        },
    )


@permission_required(MANAGE, raise_exception=True)
def rule_create(request: HttpRequest) -> HttpResponse:
    form = AlertRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        alert_rule_create(
            workspace=_workspace(request),
            user=_member(request),
            request=request,
            **{name: form.cleaned_data[name] for name in RULE_FIELDS},
        )
        messages.success(request, "Alert rule saved.")
        return redirect("alerts:index")
    return render(request, "alerts/rule_form.html", {"form": form, "rule": None})


def _rule(request: HttpRequest, rule_id: int) -> AlertRule:
    """A rule of the request's workspace: another workspace's answers 404."""
    return get_object_or_404(rule_list(workspace=_workspace(request)), pk=rule_id)


@permission_required(MANAGE, raise_exception=True)
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = _rule(request, rule_id)
    form = AlertRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        alert_rule_update(
            workspace=_workspace(request),
            rule_id=rule.pk,
            user=_member(request),
            request=request,
            **{name: form.cleaned_data[name] for name in RULE_FIELDS},
        )
        messages.success(request, "Alert rule saved.")
        return redirect("alerts:index")
    return render(request, "alerts/rule_form.html", {"form": form, "rule": rule})


@require_POST
@permission_required(MANAGE, raise_exception=True)
def rule_toggle(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = _rule(request, rule_id)
    rule = alert_rule_update(
        workspace=_workspace(request),
        rule_id=rule.pk,
        user=_member(request),
        request=request,
        enabled=not rule.enabled,
    )
    messages.success(request, f"Alert rule {'enabled' if rule.enabled else 'disabled'}.")
    return redirect("alerts:index")


@require_POST
@permission_required(MANAGE, raise_exception=True)
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = _rule(request, rule_id)
    alert_rule_delete(
        workspace=_workspace(request), rule_id=rule.pk, user=_member(request), request=request
    )
    messages.success(request, "Alert rule deleted; the alerts it raised stay in the history.")
    return redirect("alerts:index")


@require_POST
@permission_required(READ, raise_exception=True)
def alert_acknowledge_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_object_or_404(alert_list(workspace=_workspace(request)), pk=alert_id)
    alert_acknowledge(workspace=_workspace(request), alert_id=alert.pk, user=_member(request))
    messages.success(request, "Alert acknowledged.")
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)
    return redirect("alerts:index")


@require_POST
@permission_required(MANAGE, raise_exception=True)
def alert_mail_again_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_object_or_404(alert_list(workspace=_workspace(request)), pk=alert_id)
    try:
        alert_mail_again(workspace=_workspace(request), alert_id=alert.pk)
    except AlertError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "The e-mail is being sent again; this page says how it went.")
    return redirect("alerts:index")
