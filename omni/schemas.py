"""Base schemas of the API: what every request and error looks like."""

from __future__ import annotations

import re
import types
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, Union, get_args, get_origin

from ninja import Schema
from pydantic import AfterValidator, AwareDatetime, ConfigDict, ValidationInfo, field_validator


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


def _types(annotation: Any) -> set[Any]:
    """The plain types a field's annotation allows: ``Annotated`` and unions unwrapped."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _types(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return set().union(*(_types(arg) for arg in get_args(annotation)))
    return {datetime if annotation is AwareDatetime else annotation}


def _field_types(schema: type[Schema], info: ValidationInfo) -> set[Any]:
    field = schema.model_fields.get(info.field_name or "")
    return _types(field.annotation) if field is not None else set()


# How each kind of time is written (ISO 8601), at the start of the value: pydantic also reads a
# number as seconds since 1970 (``until=0.5``, ``"day": 0``, ``"opens_at": 3600``), which no
# client means and the schema does not allow.
TIME_FORMS = {
    datetime: (
        re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}"),
        "a date and time, e.g. 2026-03-01T09:30:00+08:00",
    ),
    date: (re.compile(r"\d{4}-\d{2}-\d{2}\Z"), "a date, e.g. 2026-03-01"),
    time: (re.compile(r"\d{2}:\d{2}"), "a time of day, e.g. 09:30"),
}


def _check_time(value: Any, kinds: set[Any]) -> None:
    if str in kinds:
        return
    for kind, (form, example) in TIME_FORMS.items():
        if kind not in kinds or value is None or isinstance(value, kind):
            continue
        if not (isinstance(value, str) and form.match(value)):
            raise ValueError(f"must be {example}")


class QuerySchema(Schema):
    """Filters of a list. A time is written as one (ISO 8601), never as a number."""

    @field_validator("*", mode="before")
    @classmethod
    def no_nul(cls, value: Any) -> Any:
        return _no_nul(value)

    @field_validator("*", mode="before")
    @classmethod
    def times_as_written(cls, value: Any, info: ValidationInfo) -> Any:
        _check_time(value, _field_types(cls, info))
        return value


NUMBERS = {int, float, Decimal}


class InputSchema(QuerySchema):
    """A request body. Unknown fields are refused: a typo such as ``{"line": [...]}`` must not
    silently mean "no lines". Each value has its JSON type: a flag is ``true`` or ``false``
    (``0``, ``"yes"`` or ``"false"`` are refused, not read as a boolean); a number is a JSON
    number (``false`` or ``"2.5"`` are refused, not read as 0 and 2.5); a time is a string (only
    query strings spell flags and numbers as text)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def json_types(cls, value: Any, info: ValidationInfo) -> Any:
        kinds = _field_types(cls, info) - {type(None)}
        if str in kinds:
            return value
        if bool in kinds and not (value is None or isinstance(value, bool)):
            raise ValueError("must be true or false")
        if kinds & NUMBERS and isinstance(value, bool | str):
            raise ValueError("must be a number")
        return value


class ErrorOut(Schema):
    code: str
    message: str
    detail: dict[str, Any]
