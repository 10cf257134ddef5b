from celery import shared_task

from .services import worker_heartbeat_record


@shared_task(bind=True, ignore_result=True, soft_time_limit=30, time_limit=60)
def record_worker_heartbeat(self) -> None:
    """A worker proves it consumes from the queue and can write to the database."""
    worker_heartbeat_record(hostname=self.request.hostname or "unknown")
