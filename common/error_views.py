"""The site's error handlers (handler400/403/404/500 in the root URL conf).

On API paths they answer with the API's one error body, ``{status, code, detail, fields}``
(common.api_errors), so an integration never has to parse an HTML page: a path that
resolves to nothing, a NUL in a query, a body over the upload limit. Elsewhere they are
Django's own handlers with the site's templates.
"""

from __future__ import annotations

from django.core.exceptions import BadRequest, RequestDataTooBig
from django.http import JsonResponse
from django.views import defaults

API_PATH_PREFIX = "/api/"


def is_api_request(request) -> bool:
    return request.path_info.startswith(API_PATH_PREFIX)


def api_error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse(
        {"status": status, "code": code, "detail": detail, "fields": {}}, status=status
    )


def bad_request(request, exception):
    if not is_api_request(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return api_error(413, "too_large", "The request body is too large.")
    # A BadRequest is raised by our code, worded for the client (common.middleware); what
    # Django finds suspicious stays vague.
    detail = str(exception) if type(exception) is BadRequest else "The request is not valid."
    return api_error(400, "invalid", detail)


def permission_denied(request, exception):
    if not is_api_request(request):
        return defaults.permission_denied(request, exception)
    return api_error(403, "permission_denied", "You do not have permission to perform this action.")


def page_not_found(request, exception):
    if not is_api_request(request):
        return defaults.page_not_found(request, exception)
    return api_error(404, "not_found", "Not found.")


def server_error(request):
    if not is_api_request(request):
        return defaults.server_error(request)
    return api_error(500, "server_error", "Something went wrong on our side; it has been logged.")
