"""The workspace and manager the benchmarks put their data in (a sibling module, imported
as ``from shops import ...``; call after django.setup())."""

from __future__ import annotations


def bench_workspace(slug: str = "bench", name: str = "Bench shop", currency: str = "GBP"):
    from workspaces.models import Workspace

    workspace, _ = Workspace.objects.get_or_create(
        slug=slug, defaults={"name": name, "currency": currency}
    )
    return workspace


def bench_member(user, workspace, role: str = "manager"):
    """Give `user` `role` in `workspace`."""
    from accounts.models import Membership

    Membership.unscoped.update_or_create(user=user, workspace=workspace, defaults={"role": role})
    return user
