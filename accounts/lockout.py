"""What a locked-out client sees (django-axes AXES_LOCKOUT_CALLABLE)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from common.error_views import api_error

MESSAGE = "Too many failed sign-in attempts: this account is locked for now. Try again later."


def lockout_response(request: HttpRequest, response=None, credentials=None, *args, **kwargs):
    retry_after = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    if request.path.startswith("/api/"):
        locked = api_error(429, "locked_out", MESSAGE)
        locked["Retry-After"] = retry_after
        return locked
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    result: HttpResponse = render(
        request,
        "registration/locked_out.html",
        {"cooloff_time": f"{minutes} minutes"},
        status=429,
    )
    result["Retry-After"] = retry_after
    return result
