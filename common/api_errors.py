"""One error format for the whole REST API.

Every error answer (4xx) has the same shape, so an integration needs one code path:

    {"status": 400, "code": "invalid", "detail": "Some fields are not valid.",
     "fields": {"k_max": ["must be at least k_min"]}}

``detail`` is kept at the top level (DRF's own key), so clients and tests that read
``response.json()["detail"]`` keep working. ``fields`` holds DRF's field errors (nested like
the request) and is empty for errors that are not about a field. An exception may add keys
of its own with an ``extra`` dict (the bulk transaction endpoint adds ``rows``).

Enable in settings: ``REST_FRAMEWORK["EXCEPTION_HANDLER"] =
"common.api_errors.api_exception_handler"``.
The broker or the cache being unreachable (common.outages.OUTAGE_ERRORS) is a 503 with
Retry-After, code ``unavailable``. Other unexpected exceptions are not handled here: they
stay 500s and reach the logs.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import exception_handler as drf_exception_handler

from .outages import OUTAGE_MESSAGE, RETRY_AFTER_SECONDS, is_outage

INVALID_MESSAGE = "Some fields are not valid; see fields."


def api_exception_handler(exc: Exception, context: dict[str, Any]):
    if is_outage(exc):
        return Response(
            {"status": 503, "code": "unavailable", "detail": OUTAGE_MESSAGE, "fields": {}},
            status=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    fields: Any = {}
    if isinstance(exc, exceptions.ValidationError):
        code = "invalid"
        fields = data if isinstance(data, dict) else {"non_field_errors": data}
        detail = _first_non_field_message(fields) or INVALID_MESSAGE
    else:
        detail = data.get("detail", "") if isinstance(data, dict) else str(data)
        fields = getattr(exc, "fields", None) or {}
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
        code = codes if isinstance(codes, str) else _default_code(response.status_code)
    body = {"status": response.status_code, "code": code, "detail": str(detail), "fields": fields}
    body.update(getattr(exc, "extra", None) or {})
    response.data = body
    return response


def _first_non_field_message(fields: dict) -> str:
    messages = fields.get("non_field_errors") if isinstance(fields, dict) else None
    if isinstance(messages, list) and len(fields) == 1 and messages:
        return str(messages[0])
    return ""


def _default_code(status: int) -> str:
    return {
        400: "invalid",
        401: "not_authenticated",
        403: "permission_denied",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        429: "throttled",
        503: "unavailable",
    }.get(status, "error")


class ApiProblem(exceptions.APIException):
    """An API error with its own status, code, and optionally the fields at fault and extra
    keys for the body."""

    def __init__(
        self,
        detail: str,
        *,
        status: int,
        code: str,
        fields: dict | None = None,
        extra: dict | None = None,
    ):
        super().__init__(detail=detail, code=code)
        self.status_code = status
        self.fields = fields or {}
        self.extra = extra or {}


# ------------------------------------------------------------------------------ OpenAPI
class ErrorSerializer(serializers.Serializer):
    """The body of every error answer."""

    status = serializers.IntegerField(help_text="The HTTP status, repeated.")
    code = serializers.CharField(help_text="A stable, machine-readable reason.")
    detail = serializers.CharField(help_text="What went wrong, for a person.")
    fields = serializers.DictField(
        child=serializers.JSONField(),
        help_text="Field errors, nested like the request; empty when no field is at fault.",
    )


#: status -> (example title, code, detail, fields) of the documented error bodies
_EXAMPLE_BODIES: dict[int, tuple[str, str, str, dict]] = {
    400: ("Invalid field", "invalid", INVALID_MESSAGE, {"k_max": ["must be at least k_min (2)"]}),
    401: ("No or revoked token", "authentication_failed", "Invalid token.", {}),
    403: (
        "Role lacks the capability",
        "permission_denied",
        "You do not have permission to perform this action.",
        {},
    ),
    404: ("Not found", "not_found", "Not found.", {}),
    409: ("Conflict with the current state", "run_state", "This run has already succeeded.", {}),
    413: ("Body too large", "too_large", "The request body is too large.", {}),
    415: (
        "Not JSON",
        "unsupported_media_type",
        'Unsupported media type "multipart/form-data" in request.',
        {},
    ),
    429: (
        "Rate limit",
        "throttled",
        "Request was throttled. Expected available in 12 seconds.",
        {},
    ),
    503: ("Broker or cache down", "unavailable", OUTAGE_MESSAGE, {}),
}
_EXAMPLES = {
    status: OpenApiExample(
        title,
        value={"status": status, "code": code, "detail": detail, "fields": fields},
        response_only=True,
        status_codes=[str(status)],
    )
    for status, (title, code, detail, fields) in _EXAMPLE_BODIES.items()
}
_DESCRIPTIONS = {
    400: "The request is not valid; `fields` says which fields and why.",
    401: "No token or session, or the token was revoked or expired.",
    403: "The caller's role lacks the capability, or the token is read-only.",
    404: "Not found.",
    409: "The request conflicts with the current state.",
    413: "The request body is larger than the server accepts.",
    415: "The body's Content-Type is not one this operation reads (see requestBody).",
    429: "Too many requests in this scope; retry after the Retry-After header's seconds.",
    503: "The task queue or the cache is unavailable; retry after the Retry-After header's "
    "seconds.",
}


def error_responses(*statuses: int, **descriptions: str) -> dict[int, OpenApiResponse]:
    """OpenAPI responses for the given error statuses, e.g. error_responses(401, 403, 404).

    Pass `d404="No published run."` to word one status's description for an endpoint.
    """
    out = {}
    for status in statuses:
        out[status] = OpenApiResponse(
            response=ErrorSerializer,
            description=descriptions.get(f"d{status}", _DESCRIPTIONS.get(status, "Error.")),
            examples=[_EXAMPLES[status]] if status in _EXAMPLES else [],
        )
    return out


class ErrorDocumentingAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema that also documents the errors every operation can give.

    An operation's own ``extend_schema(responses=...)`` wins; to it are added, with the error
    body, the statuses that come from the view's set-up rather than its code:

    - 400 with parameters or a body (a NUL byte in the path or query is refused, and bodies
      are validated); 404 with path parameters, or pages (one that does not exist);
    - 401 always (an unreadable Authorization header is refused on every API path); 403
      unless the view allows anyone;
    - 413 and 415 with a body (the upload limit; a Content-Type the parsers do not read);
    - 429 and 503 where a throttle counts the request (in the cache, which may be down).
    """

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for status in self._error_statuses(operation):
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(
                    error_responses(status)[status], str(status)
                )
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_statuses(self, operation: dict) -> list[int]:
        has_body = "requestBody" in operation
        statuses = [401]
        if has_body or operation.get("parameters"):
            statuses.append(400)
        if "{" in self.path or self._is_paginated():
            statuses.append(404)
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            statuses.append(403)
        if has_body:
            statuses += [413, 415]
        if self._is_throttled():
            statuses += [429, 503]
        return statuses

    def _is_paginated(self) -> bool:
        """A paginated list answers 404 for a page or cursor that does not exist."""
        return bool(getattr(self.view, "pagination_class", None)) and self._is_list_view()

    def _is_throttled(self) -> bool:
        for throttle in self.view.get_throttles():
            if not isinstance(throttle, ScopedRateThrottle):
                return True
            # A scoped throttle counts only views with a scope, or a fixed one of its own.
            if getattr(throttle, "sign_in_scope", "") or getattr(
                self.view, throttle.scope_attr, None
            ):
                return True
        return False
