"""Django's flush, which may also empty the audit log (audit/db_guard.py says why)."""

from django.core.management.commands.flush import Command as FlushCommand

from audit.db_guard import flushing


class Command(FlushCommand):
    def handle(self, **options):
        with flushing():
            return super().handle(**options)
