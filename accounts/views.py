import math

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .forms import ApiTokenForm, MemberAddForm, MemberRoleForm
from .models import ApiToken, Membership
from .roles import MEMBERS_PERMISSION
from .services import (
    MembershipRefused,
    api_token_create,
    api_token_revoke,
    membership_add,
    membership_change_role,
    membership_remove,
)
from .throttling import sign_in_wait
from .workspace_access import no_workspace, workspaces_of


class LoginView(auth_views.LoginView):
    """Django's login page under the token endpoint's limits (per address, per username).

    A refused attempt is answered 429 with Retry-After before any password is checked, so
    it counts towards no lockout; django-axes still locks a username+address pair out.
    """

    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        wait = sign_in_wait(request)
        if wait is None:
            return super().post(request, *args, **kwargs)
        seconds = max(1, math.ceil(wait))
        # Unbound (a bound form would authenticate while cleaning), with the username kept.
        username = request.POST.get("username", "")
        form = self.get_form_class()(request, initial={"username": username})
        form.cleaned_data = {}  # add_error expects a cleaned form
        form.add_error(
            None,
            ValidationError(
                f"Too many sign-in attempts from this address or for this username. "
                f"Try again in {seconds} seconds.",
                code="throttled",
            ),
        )
        response = self.render_to_response(self.get_context_data(form=form))
        response.status_code = 429
        response["Retry-After"] = str(seconds)
        return response


def api_tokens(request: HttpRequest) -> HttpResponse:
    """The user's API tokens in this workspace: create one (its secret is shown once) or
    revoke one."""
    workspace = request.workspace
    new_secret = None
    if request.method == "POST":
        form = ApiTokenForm(request.POST)
        if form.is_valid():
            _, new_secret = api_token_create(
                user=request.user, workspace=workspace, **form.cleaned_data
            )
            messages.success(request, "Token created. Copy it now: it will not be shown again.")
            form = ApiTokenForm()
    else:
        form = ApiTokenForm()
    tokens = ApiToken.objects.in_workspace(workspace).filter(user=request.user).order_by("-created")
    return render(
        request,
        "accounts/api_tokens.html",
        {"form": form, "tokens": tokens, "new_secret": new_secret},
    )


@require_POST
def api_token_revoke_view(request: HttpRequest, token_key: str) -> HttpResponse:
    if api_token_revoke(user=request.user, workspace=request.workspace, token_key=token_key):
        messages.success(request, "Token revoked: it no longer works.")
    else:
        messages.error(request, "No such token.")
    return redirect("api-tokens")


@no_workspace
def workspace_list(request: HttpRequest) -> HttpResponse:
    """The workspaces the user may enter, with their role in each, to choose from."""
    workspaces = workspaces_of(request.user)
    roles = dict(request.user.memberships.values_list("workspace_id", "role"))
    return render(
        request,
        "workspaces/list.html",
        {"choices": [(w, roles.get(w.pk)) for w in workspaces]},
    )


@permission_required(MEMBERS_PERMISSION, raise_exception=True)
def members(request: HttpRequest) -> HttpResponse:
    """This workspace's members and their roles; a workspace admin adds an existing user,
    changes a role or removes a member (never their own, nor a site administrator's)."""
    workspace = request.workspace
    form = MemberAddForm()
    status = 200
    if request.method == "POST":
        form = MemberAddForm(request.POST)
        if form.is_valid():
            try:
                membership = membership_add(
                    workspace=workspace, by=request.user, **form.cleaned_data
                )
            except MembershipRefused as refused:
                form.add_error("username", str(refused))
            else:
                messages.success(
                    request, f"{membership.user.get_username()} joined as {membership.role}."
                )
                return redirect("members")
        status = 400
    memberships = (
        Membership.objects.in_workspace(workspace).select_related("user").order_by("user__username")
    )
    rows = [
        {
            "membership": m,
            "form": MemberRoleForm(initial={"role": m.role}, prefix=f"m{m.pk}"),
            "editable": m.user_id != request.user.pk
            and (request.user.is_superuser or not m.user.is_superuser),
        }
        for m in memberships
    ]
    return render(request, "accounts/members.html", {"form": form, "rows": rows}, status=status)


@require_POST
@permission_required(MEMBERS_PERMISSION, raise_exception=True)
def member_change_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    form = MemberRoleForm(request.POST, prefix=f"m{membership_id}")
    if not form.is_valid():
        messages.error(request, "Choose one of the roles.")
        return redirect("members")
    try:
        membership = membership_change_role(
            workspace=request.workspace,
            by=request.user,
            membership_id=membership_id,
            role=form.cleaned_data["role"],
        )
    except Membership.DoesNotExist as missing:
        raise Http404("No such member.") from missing
    except MembershipRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"{membership.user.get_username()} is now {membership.role}.")
    return redirect("members")


@require_POST
@permission_required(MEMBERS_PERMISSION, raise_exception=True)
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    try:
        username = membership_remove(
            workspace=request.workspace, by=request.user, membership_id=membership_id
        )
    except Membership.DoesNotExist as missing:
        raise Http404("No such member.") from missing
    except MembershipRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"{username} no longer belongs to this workspace.")
    return redirect("members")
