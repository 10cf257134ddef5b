from django.urls import reverse

from .navigation import items_for
from .roles import ROLE_PERMISSIONS


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_roles": []}
    current = request.path
    items = []
    for item in items_for(user):
        url = reverse(item.url_name)
        active = current == url if url == "/" else current.startswith(url)
        items.append({"label": item.label, "url": url, "active": active})
    roles = [g.name for g in user.groups.all() if g.name in ROLE_PERMISSIONS]
    return {"nav_items": items, "user_roles": roles}
