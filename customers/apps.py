from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "Customers and transactions"

    def ready(self) -> None:
        from django.conf import settings

        from transaction_files import sources

        # Files are read within the IMPORT_MAX_* limits, read again at each inspection.
        sources.configure_limits(lambda: sources.FileLimits.from_settings(settings))
