from django.urls import get_script_prefix, reverse

from .navigation import items_for
from .workspace_access import workspaces_of


def navigation(request) -> dict:
    """The navigation, the request's workspace (with its currency symbol for amounts) and
    the other workspaces the user may switch to."""
    user = getattr(request, "user", None)
    workspace = getattr(request, "workspace", None)
    membership = getattr(request, "membership", None)
    context = {
        "workspace": workspace,
        "currency_symbol": workspace.currency_symbol if workspace is not None else "",
        "nav_items": [],
        "user_roles": [],
        "workspaces": [],
    }
    if user is None or not user.is_authenticated:
        return context
    # Compared inside the workspace: reverse() puts the workspace's /w/<slug>/ prefix on
    # every link, which the request's path has or not (path_info never has it).
    # The longest link the path starts with is the page's (the playbook's under the runs').
    here, prefix = request.path_info, get_script_prefix()
    items, best = [], ""
    for item in items_for(user):
        url = reverse(item.url_name)
        page = "/" + url.removeprefix(prefix) if url.startswith(prefix) else url
        if (here == page if page == "/" else here.startswith(page)) and len(page) > len(best):
            best = page
        items.append({"label": item.label, "url": url, "page": page})
    for entry in items:
        entry["active"] = entry.pop("page") == best != ""
    context["nav_items"] = items
    context["user_roles"] = [membership.role] if membership is not None else []
    context["workspaces"] = workspaces_of(user)
    return context
