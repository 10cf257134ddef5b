from datetime import timedelta

from django.utils import timezone

from .models import WorkerHeartbeat


def worker_last_seen() -> WorkerHeartbeat | None:
    return WorkerHeartbeat.objects.order_by("-seen_at").first()


def worker_is_recent(
    beat: WorkerHeartbeat | None, *, within: timedelta = timedelta(minutes=5)
) -> bool:
    return beat is not None and timezone.now() - beat.seen_at <= within
