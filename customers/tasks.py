from celery import shared_task

from .services import import_record_process


@shared_task(ignore_result=True, acks_late=True)
def process_import(import_record_id: int) -> None:
    """Read an uploaded file and store its lines (see import_record_process).

    No retry: a bad file fails the same way twice, and the service records why. A worker
    lost mid-import is redelivered (acks_late); the service starts that import over.
    """
    import_record_process(import_record_id=import_record_id)
