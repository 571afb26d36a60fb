"""Base schemas of the API: what every request and error looks like."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, ValidationInfo, field_validator


def _no_nul(value: Any) -> Any:
    # PostgreSQL text cannot hold NUL; refuse it here rather than fail in the database.
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


# A time that an offset (or the server's zone, for one without) moves past year 1 or 9999
# cannot be stored or compared; no offset is a day long, so a day's margin suffices.
EARLIEST, LATEST = datetime.min + timedelta(days=1), datetime.max - timedelta(days=1)


def storable(value: datetime) -> datetime:
    if not EARLIEST <= value.replace(tzinfo=None) <= LATEST:
        raise ValueError("out of range: give a time from 0001-01-02 to 9999-12-30")
    return value


# A time a filter or a body may carry: refused (422) when it cannot be stored or compared.
Instant = Annotated[datetime, AfterValidator(storable)]


class QuerySchema(Schema):
    """Filters of a list."""

    @field_validator("*", mode="before")
    @classmethod
    def no_nul(cls, value: Any) -> Any:
        return _no_nul(value)


FLAGS = (bool, bool | None)


class InputSchema(QuerySchema):
    """A request body. Unknown fields are refused: a typo such as ``{"line": [...]}`` must not
    silently mean "no lines". A flag is ``true`` or ``false``: ``0``, ``"yes"`` or ``"false"``
    are refused, not read as a boolean (a body is JSON; only query strings spell flags)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def strict_flags(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        is_flag = field is not None and field.annotation in FLAGS
        if is_flag and not (value is None or isinstance(value, bool)):
            raise ValueError("must be true or false")
        return value


class ErrorOut(Schema):
    code: str
    message: str
    detail: dict[str, Any]
