"""Cursor pagination for every list of the API: ninja's, with a tampered cursor or a page size
below one answered as a 422 instead of a 500 or a silently clamped page."""

from __future__ import annotations

from typing import Annotated, Any

import pydantic
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Field as ModelField
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field
from ninja import pagination as ninja_pagination
from ninja.errors import ValidationError

from .schemas import QuerySchema


class CursorPagination(ninja_pagination.CursorPagination):
    class Input(QuerySchema):
        # Above the maximum is clamped to it (ninja's behaviour); below one is a client bug.
        page_size: Annotated[int | None, Field(ge=1)] = None
        cursor: str | None = None

    def paginate_queryset(
        self, queryset: QuerySet, pagination: Any, request: HttpRequest, **params: Any
    ) -> Any:
        self._check_cursor(queryset, pagination.cursor)
        return super().paginate_queryset(queryset, pagination, request, **params)

    def _check_cursor(self, queryset: QuerySet, encoded: str | None) -> None:
        """A cursor is ours only if it decodes and its position fits the ordering field."""
        try:
            cursor = self.Cursor.from_encoded_param(encoded)
            if cursor.p is not None:
                field = queryset.model._meta.get_field(self._order_attribute)
                if isinstance(field, ModelField):
                    field.to_python(cursor.p)
        except (ValidationError, pydantic.ValidationError, DjangoValidationError) as exc:
            raise ValidationError(
                [{"type": "value_error", "loc": ("query", "cursor"), "msg": "invalid cursor"}]
            ) from exc
