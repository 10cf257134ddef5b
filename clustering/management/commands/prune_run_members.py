"""Remove the members of old runs that were never published (their reports, segments and
profiles stay; published runs and each workspace's newest run keep everything).

manage.py prune_run_members [--workspace SLUG | --all-workspaces] [--older-than-days 90]
    [--dry-run]

Run it from cron (or any scheduler), beside prune_import_files: a shop of a million
customers that runs every day otherwise keeps a million rows per run.
"""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from clustering.runs.retention import run_members_prune
from customers.management.workspace_option import add_workspaces_arguments, workspaces_from_options


class Command(BaseCommand):
    help = "Remove the members of runs never published that finished more than N days ago."

    def add_arguments(self, parser):
        add_workspaces_arguments(parser, "runs")
        parser.add_argument("--older-than-days", type=int, default=90)
        parser.add_argument("--dry-run", action="store_true", help="Only say what would go.")

    def handle(self, *args, older_than_days: int, dry_run: bool, **options):
        if older_than_days < 0:
            raise CommandError("--older-than-days must be 0 or more.")
        verb = "Would remove" if dry_run else "Removed"
        for workspace in workspaces_from_options(options):
            pruned = run_members_prune(
                workspace=workspace, older_than=timedelta(days=older_than_days), dry_run=dry_run
            )
            self.stdout.write(
                f"{workspace.slug}: {verb} {pruned.members:,} member row(s) of {pruned.runs} "
                f"run(s) never published that finished more than {older_than_days} day(s) ago."
            )
