"""Page numbers and sizes read strictly: DRF falls back to page 1 or the default size for a
value it cannot read, which hides a client's mistake; the API answers 400 instead."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from django.core.paginator import Paginator
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class StrictPageSizeMixin:
    """For a paginator with `page_size_query_param`: a value that is not a positive whole
    number is a 400 naming the parameter (a larger one is still cut to `max_page_size`)."""

    def get_page_size(self, request):
        name = self.page_size_query_param  # type: ignore[attr-defined]
        values = request.query_params.getlist(name)
        if any(not (value.isascii() and value.isdigit() and int(value) > 0) for value in values):
            raise ValidationError({name: ["Must be a whole number above zero."]})
        return super().get_page_size(request)  # type: ignore[misc]

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)  # type: ignore[misc]
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:  # type: ignore[attr-defined]
                parameter["schema"] = {**parameter["schema"], "minimum": 1}
        return parameters


class _CountedPaginator(Paginator):
    """Django's paginator, its count from `count_of(object_list)` when that gives one."""

    def __init__(self, object_list, per_page, *, count_of: Callable | None):
        super().__init__(object_list, per_page)
        self._count_of = count_of

    @cached_property
    def count(self) -> int:
        known = self._count_of(self.object_list) if self._count_of is not None else None
        return super().count if known is None else known


class StrictPageNumberPagination(PageNumberPagination):
    """DRF's page numbers, but an empty `page` is a 400 rather than page 1 (any other
    unreadable page is DRF's 404 "Invalid page").

    A view may define `paginated_count(queryset)` to supply the count (None: count the rows),
    e.g. from a cache: counting a million rows for every page took over half a second."""

    _count_of: Callable | None = None

    def paginate_queryset(self, queryset, request, view=None):
        if request.query_params.get(self.page_query_param, None) == "":
            raise ValidationError({self.page_query_param: ["Give a page number."]})
        self._count_of = getattr(view, "paginated_count", None)
        return super().paginate_queryset(queryset, request, view)

    def django_paginator_class(self, object_list, per_page):  # type: ignore[override]
        return _CountedPaginator(object_list, per_page, count_of=self._count_of)
