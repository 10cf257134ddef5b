"""Requests refused before any view sees them."""

from __future__ import annotations

from django.core.exceptions import BadRequest
from django.urls import get_resolver, get_urlconf

from .error_views import api_error, is_api_request

NUL_MESSAGE = "The address or query holds a NUL character."


class RefuseUnreadableRequestsMiddleware:
    """Bytes no view can use answer 400 or 401 here, never a 500 further in (issue 23).

    - A NUL character in the path or the query string: 400. PostgreSQL refuses text holding
      NUL, so a ``?q=%00`` that a view passes on to a query would otherwise be a 500. The
      site's handler400 answers (common.error_views), with the API's error body on API
      paths. Form and JSON fields are left to their fields, whose validators refuse NUL.
    - On API paths, an Authorization header that is not printable ASCII (raw non-UTF-8
      bytes, control characters): 401, as a wrong token would be. No credential scheme
      uses such bytes, and not every authentication class is ours (knox's LogoutView
      decodes the token as UTF-8 and fails).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path_info or _query_holds_nul(request):
            # Answered here rather than raised: Django logs a raised BadRequest with its
            # traceback, and a fuzzer sends many.
            handler = get_resolver(get_urlconf()).resolve_error_handler(400)
            return handler(request, BadRequest(NUL_MESSAGE))
        if is_api_request(request) and not _readable(request.META.get("HTTP_AUTHORIZATION", "")):
            response = api_error(401, "authentication_failed", "Invalid token.")
            response["WWW-Authenticate"] = "Token"
            return response
        return self.get_response(request)


def _query_holds_nul(request) -> bool:
    # On the raw string: "%00" can only ever decode to NUL, and a server may pass a bare one.
    query = request.META.get("QUERY_STRING", "")
    return "%00" in query or "\x00" in query


def _readable(header: str) -> bool:
    return header.isascii() and header.replace("\t", " ").isprintable()
