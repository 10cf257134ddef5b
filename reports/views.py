from django.shortcuts import render

from clustering.selectors import worker_is_recent, worker_last_seen


def home(request):
    """The landing page after login: what the signed-in user can do, and system health."""
    beat = worker_last_seen()
    return render(
        request,
        "reports/home.html",
        {"worker": beat, "worker_recent": worker_is_recent(beat)},
    )
