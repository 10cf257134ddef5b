"""The workspaces tests put their data in: `shop` for most tests, `other_shop` where a
test needs a second one (isolation). Get-or-create, so module-scoped data and
function-scoped fixtures agree on the same rows."""

from __future__ import annotations

SHOP = {"slug": "shop", "name": "Test shop", "currency": "GBP"}
OTHER_SHOP = {"slug": "other-shop", "name": "Other shop", "currency": "USD"}


def test_shop(spec: dict | None = None):
    from workspaces.models import Workspace

    spec = spec or SHOP
    workspace, _ = Workspace.objects.get_or_create(
        slug=spec["slug"], defaults={k: v for k, v in spec.items() if k != "slug"}
    )
    return workspace


def join(user, workspace, role: str):
    """Give `user` `role` in `workspace` (replacing any role they had there)."""
    from accounts.models import Membership

    Membership.unscoped.update_or_create(user=user, workspace=workspace, defaults={"role": role})
    return user
