"""Delete the uploaded files of finished imports (the records, counts and rejected rows stay).

manage.py prune_import_files [--older-than-days 30] [--dry-run]

Run it from cron (or any scheduler) to keep MEDIA_ROOT/imports/ from growing forever.
"""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from customers.services import import_files_prune


class Command(BaseCommand):
    help = "Delete the uploaded files of imports that finished more than N days ago."

    def add_arguments(self, parser):
        parser.add_argument("--older-than-days", type=int, default=30)
        parser.add_argument("--dry-run", action="store_true", help="Only say what would go.")

    def handle(self, *args, older_than_days: int, dry_run: bool, **options):
        if older_than_days < 0:
            raise CommandError("--older-than-days must be 0 or more.")
        pruned = import_files_prune(older_than=timedelta(days=older_than_days), dry_run=dry_run)
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(
            f"{verb} {pruned.files} uploaded file(s), {pruned.bytes / 1e6:.1f} MB, of imports "
            f"finished more than {older_than_days} day(s) ago."
        )
