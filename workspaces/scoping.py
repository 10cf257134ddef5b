"""The one way to read what belongs to a workspace.

Every model a workspace owns uses ScopedManager as its default manager (`objects`) and
names the path to its workspace in WORKSPACE_PATH. The manager reads nothing until it is
told the workspace: ``Customer.objects.in_workspace(ws).filter(...)``; any other read
(``Customer.objects.filter(...)``, ``get_object_or_404(Customer, ...)``, a ModelForm's
unique check) raises WorkspaceRequired, so a forgotten scope fails loudly in tests instead
of showing another shop's data. A related manager (``run.segments``) is already scoped by
the object it starts from. Writes need no scope: the workspace is a required field.

`unscoped`, a plain manager, is for what spans workspaces on purpose: the admin site, the
worker's recovery of stuck runs, data migrations and tests. tests/workspaces lists the
modules allowed to use it.
"""

from __future__ import annotations

from django.db import models


class WorkspaceRequired(LookupError):
    """A query of a workspace's data was made without saying which workspace."""

    def __init__(self, model: type[models.Model]):
        super().__init__(
            f"{model.__name__} belongs to a workspace: read it with "
            f"{model.__name__}.objects.in_workspace(workspace)."
        )


class ScopedQuerySet(models.QuerySet):
    def in_workspace(self, workspace) -> ScopedQuerySet:
        if workspace is None:
            raise WorkspaceRequired(self.model)
        path: str = self.model.WORKSPACE_PATH  # type: ignore[attr-defined]
        return self.filter(**{path: workspace})


class ScopedManager(models.Manager.from_queryset(ScopedQuerySet)):  # type: ignore[misc]
    """A default manager that refuses to read until told the workspace (see module doc)."""

    def get_queryset(self):
        # Related managers (run.segments) subclass this one and are bound to an instance,
        # which was itself read in its workspace.
        if getattr(self, "instance", None) is None:
            raise WorkspaceRequired(self.model)
        return super().get_queryset()

    def in_workspace(self, workspace):
        if workspace is None:
            raise WorkspaceRequired(self.model)
        return super().get_queryset().in_workspace(workspace)

    def none(self):
        # An empty queryset reads nothing (schema generation asks the manager for one).
        return super().get_queryset().none()

    def create(self, **kwargs):
        return super().get_queryset().create(**kwargs)

    def bulk_create(self, objs, *args, **kwargs):
        return super().get_queryset().bulk_create(objs, *args, **kwargs)


class UnscopedManager(models.Manager):
    """The plain manager, as `unscoped`, for reads that span workspaces on purpose."""
