from celery import shared_task
from django.db import InterfaceError, OperationalError

from .services import import_record_fail, import_record_process

MAX_RETRIES = 3


@shared_task(bind=True, ignore_result=True, acks_late=True, max_retries=MAX_RETRIES)
def process_import(self, import_record_id: int) -> None:
    """Read an uploaded file and store its lines (see import_record_process).

    A bad file fails the same way twice, so only a lost database connection is retried, with
    backoff. A worker lost mid-import is redelivered (acks_late); the service starts that
    import over, since nothing of it was committed.
    """
    try:
        import_record_process(import_record_id=import_record_id)
    except (OperationalError, InterfaceError) as exc:
        if self.request.retries >= MAX_RETRIES:
            import_record_fail(
                import_record_id=import_record_id,
                message="The database could not be reached; nothing was imported. "
                "Upload the file again later.",
            )
            return
        raise self.retry(exc=exc, countdown=10 * 2**self.request.retries) from exc
