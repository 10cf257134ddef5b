"""The workspaces tests put their data in: `shop` for most tests, `other_shop` where a
test needs a second one (isolation). Get-or-create, so module-scoped data and
function-scoped fixtures agree on the same rows."""

from __future__ import annotations

SHOP = {"slug": "shop", "name": "Test shop", "currency": "GBP"}
OTHER_SHOP = {"slug": "other-shop", "name": "Other shop", "currency": "USD"}


def test_shop(spec: dict | None = None):
    from django.conf import settings

    from workspaces.models import Workspace

    spec = spec or SHOP
    # in the site's zone unless said, as the default workspace is: the tests' naive times are
    # the site's, and a run counts the shop's days in the shop's zone
    defaults = {"time_zone": settings.TIME_ZONE, **{k: v for k, v in spec.items() if k != "slug"}}
    workspace, _ = Workspace.objects.get_or_create(slug=spec["slug"], defaults=defaults)
    return workspace


def join(user, workspace, role: str):
    """Give `user` `role` in `workspace` (replacing any role they had there)."""
    from accounts.models import Membership

    Membership.unscoped.update_or_create(user=user, workspace=workspace, defaults={"role": role})
    return user
