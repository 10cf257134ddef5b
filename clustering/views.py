from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from .services import worker_ping_request


@require_POST
@permission_required("accounts.manage_runs", raise_exception=True)
def worker_ping(request):
    worker_ping_request()
    messages.info(request, "Asked the background worker to check in; reload in a few seconds.")
    return redirect("home")
