"""The --workspace option of the commands: which shop's data they work on (or, for the
pruning commands, --all-workspaces)."""

from __future__ import annotations

from django.core.management.base import CommandError

from workspaces.models import Workspace


def add_workspace_argument(parser) -> None:
    parser.add_argument(
        "--workspace",
        default="",
        metavar="SLUG",
        help="The workspace's slug; required when there is more than one workspace.",
    )


def add_workspaces_arguments(parser, what: str) -> None:
    """--workspace, or --all-workspaces for a command that may work on every shop."""
    add_workspace_argument(parser)
    parser.add_argument(
        "--all-workspaces", action="store_true", help=f"Prune every workspace's {what}."
    )


def workspaces_from_options(options: dict) -> list[Workspace]:
    if options["all_workspaces"] and options["workspace"]:
        raise CommandError("Pass --workspace or --all-workspaces, not both.")
    if options["all_workspaces"]:
        return list(Workspace.objects.order_by("slug"))
    return [workspace_from_option(options["workspace"])]


def workspace_from_option(slug: str) -> Workspace:
    """The workspace named by --workspace, else the only one there is; a CommandError that
    lists the slugs when the choice is unclear or unknown."""
    if slug:
        workspace = Workspace.objects.filter(slug=slug).first()
        if workspace is None:
            raise CommandError(f"No workspace {slug!r}; the workspaces are: {_slugs()}.")
        return workspace
    workspaces = list(Workspace.objects.order_by("slug")[:2])
    if len(workspaces) == 1:
        return workspaces[0]
    if not workspaces:
        raise CommandError("There is no workspace yet: create one first.")
    raise CommandError(
        f"There is more than one workspace: pass --workspace with one of: {_slugs()}."
    )


def _slugs() -> str:
    return ", ".join(Workspace.objects.order_by("slug").values_list("slug", flat=True)) or "none"
