"""Which workspace a request is in, and the user's role there.

Pages live under /w/<slug>/: WorkspaceMiddleware serves such a path as if the site were
mounted there (the prefix leaves path_info and joins the script prefix), so every
reverse() and {% url %} of the request stays in the workspace without naming it, and a
link can be shared. A signed-in user who is not a member gets 404, as for any object of
another workspace. A path without the prefix (an old bookmark) is served in the user's
current workspace (the last one visited, else the first they belong to), and the links on
that page carry the prefix.

The API is scoped by its token: a token belongs to one user in one workspace
(ScopedTokenAuthentication calls enter_workspace), and under another workspace's prefix it
gets 404. A browser session uses the API as it uses pages. docs/decisions/workspaces.md
says why.
"""

from __future__ import annotations

import re
import zoneinfo

from django.http import Http404
from django.shortcuts import render
from django.urls import get_script_prefix, set_script_prefix
from django.utils import timezone

from workspaces.models import Workspace

from .models import Membership

PREFIX = re.compile(r"^/w/(?P<slug>[-a-zA-Z0-9_]+)(?P<rest>/.*)$")
SESSION_KEY = "workspace"
# Paths served outside any workspace: signing in and out, the admin site, the API (its
# token names the workspace) and the schema.
WORKSPACE_FREE_PREFIXES = (
    "/account/login/",
    "/account/logout/",
    "/account/password/",
    "/admin/",
    "/workspaces/",
)


def no_workspace(view):
    """Mark a view as served outside any workspace (like login_not_required)."""
    view.workspace_free = True
    return view


class NotAMember(Http404):
    pass


def enter_workspace(request, user, workspace: Workspace) -> Membership | None:
    """Set the request's workspace and the user's role there; 404 (NotAMember) if the user
    neither belongs to it nor is a superuser."""
    membership = (
        Membership.objects.in_workspace(workspace).filter(user=user).first()
        if user.is_authenticated
        else None
    )
    if membership is None and not user.is_superuser:
        raise NotAMember("No such workspace.")
    user.workspace_membership = membership
    request.workspace = workspace
    request.membership = membership
    # the shop's own clock on its pages and in its API answers (WorkspaceMiddleware resets it)
    timezone.activate(zoneinfo.ZoneInfo(workspace.time_zone))
    return membership


def workspaces_of(user) -> list[Workspace]:
    """The workspaces a user may enter: theirs, or every one for a superuser. Read once
    per user object (one request): the middleware and the switcher both ask."""
    cached = getattr(user, "_workspaces_of", None)
    if cached is None:
        found = Workspace.objects.all()
        if not user.is_superuser:
            found = found.filter(memberships__user=user).distinct()
        cached = user._workspaces_of = list(found)
    return cached


def current_workspace_of(request) -> Workspace | None:
    """The workspace to send the user to: the last one visited, else their first."""
    choices = workspaces_of(request.user)
    last = request.session.get(SESSION_KEY)
    for workspace in choices:
        if workspace.slug == last:
            return workspace
    return choices[0] if choices else None


def workspace_url(workspace: Workspace, path: str) -> str:
    """`path` (as reverse() gives it outside a workspace) inside `workspace`."""
    return f"/w/{workspace.slug}{path}"


class WorkspaceMiddleware:
    """Puts each request in a workspace (see the module doc). After AuthenticationMiddleware
    and LoginRequiredMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.workspace = None
        request.membership = None
        request.workspace_slug_in_path = None
        prefix = get_script_prefix()
        match = PREFIX.match(request.path_info)
        if match is not None:
            slug = request.workspace_slug_in_path = match["slug"]
            if request.user.is_authenticated:
                workspace = Workspace.objects.filter(slug=slug).first()
                if workspace is None:
                    raise Http404("No such workspace.")
                enter_workspace(request, request.user, workspace)
                if request.session.get(SESSION_KEY) != slug:
                    request.session[SESSION_KEY] = slug
            # Anonymous: the prefix is taken off without a lookup (nothing tells whether
            # the workspace exists); the login page sends them back here.
            if match["rest"].startswith("/admin/"):
                # The admin site spans workspaces: a workspace role must not reach it.
                raise Http404("The admin site is not inside a workspace.")
            request.path_info = match["rest"]
            set_script_prefix(f"{prefix}w/{slug}/")
        try:
            return self.get_response(request)
        finally:
            set_script_prefix(prefix)
            timezone.deactivate()

    def process_view(self, request, view_func, view_args, view_kwargs):
        """Without a prefix, a signed-in user's page or API call is in their current
        workspace, and the links it gives carry it."""
        if request.workspace is not None or not request.user.is_authenticated:
            return None
        if getattr(view_func, "workspace_free", False) or getattr(
            getattr(view_func, "cls", None), "workspace_free", False
        ):
            return None
        if request.path_info.startswith(WORKSPACE_FREE_PREFIXES):
            return None
        workspace = current_workspace_of(request)
        if workspace is None:
            if request.path_info.startswith("/api/"):
                return None  # accounts.permissions.InWorkspace answers in the API's format
            return render(request, "workspaces/none.html", status=403)
        enter_workspace(request, request.user, workspace)
        set_script_prefix(f"{get_script_prefix()}w/{workspace.slug}/")
        return None
