"""The schedule page: when the workspace's segmentation refreshes, with which guards, what
the last firing did, and the recent scheduled runs. Managers see and change it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from workspaces.models import Workspace

from .forms import ScheduleForm
from .selectors import scheduled_runs
from .services import EDITABLE_FIELDS, next_firing, schedule_get_or_default, schedule_save

MANAGE = "accounts.manage_runs"


@permission_required(MANAGE, raise_exception=True)
def schedule_page(request: HttpRequest) -> HttpResponse:
    workspace: Workspace = getattr(request, "workspace")  # noqa: B009 - set by the middleware
    schedule = schedule_get_or_default(workspace=workspace)
    form = ScheduleForm(request.POST or None, instance=schedule)
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in EDITABLE_FIELDS}
        schedule = schedule_save(
            workspace=workspace, user=request.user, values=values, request=request
        )
        messages.success(
            request,
            f"Schedule saved: {schedule.describe()}."
            if schedule.enabled
            else "Schedule saved; it is off.",
        )
        return redirect("schedules:schedule")
    return render(
        request,
        "schedules/schedule.html",
        {
            "form": form,
            "schedule": schedule,
            "next_firing": next_firing(schedule) if schedule.pk else None,
            "time_zone": workspace.time_zone,
            "runs": scheduled_runs(workspace=workspace),
        },
    )
