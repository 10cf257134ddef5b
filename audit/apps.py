from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from .db_guard import register_sqlite_function

        connection_created.connect(register_sqlite_function, dispatch_uid="audit_flushing")
