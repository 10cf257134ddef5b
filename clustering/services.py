from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import WorkerHeartbeat


def worker_heartbeat_record(*, hostname: str) -> WorkerHeartbeat:
    """Record that a worker is alive; called by the worker itself."""
    with transaction.atomic():
        beat, created = WorkerHeartbeat.objects.select_for_update().get_or_create(
            hostname=hostname, defaults={"seen_at": timezone.now(), "tasks_seen": 1}
        )
        if not created:
            WorkerHeartbeat.objects.filter(pk=beat.pk).update(
                seen_at=timezone.now(), tasks_seen=F("tasks_seen") + 1
            )
            beat.refresh_from_db()
    return beat


def worker_ping_request() -> None:
    """Queue a heartbeat task once the current transaction commits."""
    from .tasks import record_worker_heartbeat

    record_worker_heartbeat.delay_on_commit()
