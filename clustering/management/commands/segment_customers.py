import json
import time
from datetime import date

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Membership
from accounts.roles import ADMIN, MANAGER
from clustering.engine.types import InvalidParameters
from clustering.models import Publication, SegmentationRun
from clustering.params import USER_PARAMETERS, params_from_input
from clustering.services import (
    new_claim_token,
    run_create,
    run_execute,
    run_publish,
    with_shop_k_max,
)
from workspaces.models import Workspace


class Command(BaseCommand):
    help = (
        "Start a segmentation run over the customers of a workspace. By default it is queued "
        "for a worker and the command waits for it; --sync executes it in this process."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--workspace",
            help="the workspace's slug (required when there is more than one workspace)",
        )
        parser.add_argument(
            "--user", help="who starts the run (default: the workspace's first manager)"
        )
        parser.add_argument("--name", default="", help="a name for the run")
        parser.add_argument(
            "--params",
            default="{}",
            help=f"JSON object of parameters; keys: {', '.join(USER_PARAMETERS)}",
        )
        parser.add_argument("--algorithms", help="comma-separated, e.g. kmeans,gmm,birch")
        parser.add_argument("--k-min", type=int)
        parser.add_argument("--k-max", type=int)
        parser.add_argument("--seed", type=int)
        parser.add_argument(
            "--as-of",
            metavar="YYYY-MM-DD",
            help="the run's reference date: recency is measured as of this day and only "
            "purchases before it count (default: the day after the last purchase)",
        )
        parser.add_argument("--sync", action="store_true", help="execute here, not on a worker")
        parser.add_argument("--no-wait", action="store_true", help="queue and return")
        parser.add_argument("--publish", action="store_true", help="publish it if it succeeds")
        parser.add_argument("--timeout", type=int, default=1800, help="seconds to wait")

    def handle(self, *args, **options):
        as_of = None if options["as_of"] is None else _as_of(options["as_of"])
        workspace = self._workspace(options["workspace"])
        user = self._user(options["user"], workspace)
        try:
            values = json.loads(options["params"])
        except json.JSONDecodeError as error:
            raise CommandError(f"--params is not valid JSON: {error}") from error
        for option, key in (
            ("algorithms", "algorithms"),
            ("k_min", "k_min"),
            ("k_max", "k_max"),
            ("seed", "seed"),
        ):
            if options[option] is not None:
                values[key] = options[option]
        if as_of is not None:
            if values.get("reference_date") not in (None, ""):
                raise CommandError("Give the reference date once: --as-of or --params, not both.")
            values["reference_date"] = as_of
        values, k_max_by_shop_size = with_shop_k_max(workspace=workspace, data=values)
        try:
            params = params_from_input(values)
            run = run_create(
                workspace=workspace,
                user=user,
                params=params,
                name=options["name"],
                enqueue=not options["sync"],
                trigger=SegmentationRun.Trigger.COMMAND,
                k_max_by_shop_size=k_max_by_shop_size,
            )
        except InvalidParameters as error:
            raise CommandError(f"Invalid parameter {error.field}: {error.message}") from error
        self.stdout.write(f"Run {run.pk} queued in workspace {workspace.slug}.")
        if options["sync"]:
            outcome = run_execute(run_id=run.pk, token=new_claim_token(), hostname="command")
            self.stdout.write(f"Run {run.pk} executed here: {outcome}.")
        elif options["no_wait"]:
            return
        else:
            run = self._wait(workspace, run.pk, options["timeout"])
        run.refresh_from_db()
        if run.status != SegmentationRun.Status.SUCCEEDED:
            raise CommandError(f"Run {run.pk} {run.status}: {run.error}")
        self.stdout.write(
            f"Run {run.pk} succeeded: {run.chosen_algorithm} with {run.chosen_k} segments "
            f"over {run.n_customers:,} customers."
        )
        for segment in run.segments.all():
            self.stdout.write(
                f"  {segment.name:<32} {segment.size:>7,} customers "
                f"{segment.share_customers:6.1%} of customers, {segment.share_revenue:6.1%} "
                "of revenue"
            )
        if options["publish"]:
            run_publish(
                workspace=workspace,
                run_id=run.pk,
                user=user,
                source=Publication.Source.COMMAND,
            )
            self.stdout.write(f"Run {run.pk} published.")

    def _workspace(self, slug: str | None) -> Workspace:
        if slug:
            workspace = Workspace.objects.filter(slug=slug).first()
            if workspace is None:
                known = ", ".join(Workspace.objects.values_list("slug", flat=True)) or "none"
                raise CommandError(f"No workspace {slug!r}; the workspaces are: {known}.")
            return workspace
        workspaces = list(Workspace.objects.all()[:2])
        if len(workspaces) == 1:
            return workspaces[0]
        if not workspaces:
            raise CommandError("There is no workspace yet: create one first.")
        known = ", ".join(Workspace.objects.values_list("slug", flat=True))
        raise CommandError(
            f"There is more than one workspace: pass --workspace with one of: {known}."
        )

    def _user(self, username, workspace: Workspace):
        users = get_user_model().objects.filter(is_active=True)
        if username:
            user = users.filter(username=username).first()
        else:
            managers = Membership.objects.in_workspace(workspace).filter(
                role__in=[MANAGER, ADMIN], user__is_active=True
            )
            user = users.filter(pk__in=managers.values("user")).order_by("pk").first()
        if user is None:
            raise CommandError(
                f"No such user: pass --user with the username of a manager of {workspace.slug}."
            )
        return user

    def _wait(self, workspace: Workspace, run_id: int, timeout: int) -> SegmentationRun:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            run = SegmentationRun.objects.in_workspace(workspace).get(pk=run_id)
            state = (run.status, run.stage, int(run.progress))
            if state != last:
                self.stdout.write(f"  {run.status}: {run.stage} {run.progress:.0f}%")
                last = state
            if run.is_finished:
                return run
            time.sleep(1)
        raise CommandError(f"Run {run_id} did not finish within {timeout} s; is a worker running?")


def _as_of(text: str) -> str:
    """--as-of as an ISO date, or a CommandError that says what was wrong with it."""
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError as error:
        raise CommandError(
            f"--as-of {text!r} is not a date: give the reference date as YYYY-MM-DD, "
            "e.g. 2011-12-10"
        ) from error
