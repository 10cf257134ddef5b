"""Delete the uploaded files of finished imports (the records, counts and rejected rows stay).

manage.py prune_import_files [--workspace SLUG | --all-workspaces] [--older-than-days 30]
    [--dry-run]

The workers already delete files older than IMPORT_FILES_KEEP_DAYS (30) by themselves
(customers.tasks.import_files_prune_expired); this deletes them at another age, or when that
setting is 0. With several workspaces, name one or pass --all-workspaces.
"""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from customers.management.workspace_option import add_workspaces_arguments, workspaces_from_options
from customers.services import import_files_prune


class Command(BaseCommand):
    help = "Delete the uploaded files of imports that finished more than N days ago."

    def add_arguments(self, parser):
        add_workspaces_arguments(parser, "imports")
        parser.add_argument("--older-than-days", type=int, default=30)
        parser.add_argument("--dry-run", action="store_true", help="Only say what would go.")

    def handle(self, *args, older_than_days: int, dry_run: bool, **options):
        if older_than_days < 0:
            raise CommandError("--older-than-days must be 0 or more.")
        verb = "Would delete" if dry_run else "Deleted"
        for workspace in workspaces_from_options(options):
            pruned = import_files_prune(
                workspace=workspace, older_than=timedelta(days=older_than_days), dry_run=dry_run
            )
            self.stdout.write(
                f"{workspace.slug}: {verb} {pruned.files} uploaded file(s), "
                f"{pruned.bytes / 1e6:.1f} MB, of imports finished more than "
                f"{older_than_days} day(s) ago."
            )
