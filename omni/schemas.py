"""Base schemas of the API: what every request and error looks like, and the limits every input
obeys. Every query filter is a ``QuerySchema`` and every body an ``InputSchema``
(``tests/test_api_contract.py`` holds the API to that), so the limits below are checked here,
once, for every field of every request:

* a string has no control characters (Unicode ``Cc``, NUL included: PostgreSQL text cannot hold
  it) and no lone surrogates (no database encodes them); free text — a field typed
  ``FreeText``: notes and addresses — may also hold line breaks and tabs;
* an integer fits a signed 64-bit column (SQLite's INTEGER, PostgreSQL's bigint); fields stored in
  narrower columns carry their own, tighter bounds;
* a number is finite (JSON parsing lets ``NaN`` and ``Infinity`` through);
* a date or a time lies in the years ``EARLIEST.year`` to ``LATEST.year``, far enough from
  Python's and the databases' ends that a zone shift, a forecast horizon or a history window
  never overflows; a time with an offset is kept in UTC, because PostgreSQL refuses offsets
  past ±15:59 that Python accepts up to ±23:59.

A refusal is a 422 ``validation_error`` naming the field, like any other invalid value.
"""

from __future__ import annotations

import math
import re
import types
import unicodedata
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from ninja import Schema
from pydantic import AfterValidator, AwareDatetime, ConfigDict, ValidationInfo, field_validator

INT_MIN, INT_MAX = -(2**63), 2**63 - 1
EARLIEST, LATEST = date(1900, 1, 1), date(8999, 12, 31)
RANGE = f"from {EARLIEST.isoformat()} to {LATEST.isoformat()}"
LINE_BREAKS = frozenset("\t\n\r")


class _FreeText:
    """Marks a string that may span lines (``FreeText``)."""

    def __repr__(self) -> str:
        return "FreeText"


FREE_TEXT = _FreeText()
# A note or an address: line breaks and tabs are part of the text.
FreeText = Annotated[str, FREE_TEXT]


def _bad_character(text: str, *, free_text: bool) -> str | None:
    for char in text:
        category = unicodedata.category(char)
        if category == "Cs":
            return "lone surrogate characters are not allowed"
        if category == "Cc" and not (free_text and char in LINE_BREAKS):
            if char == "\x00":
                return "NUL characters are not allowed"
            if char in LINE_BREAKS:
                return "line breaks and tabs are allowed only in free text (notes, addresses)"
            return f"control characters (U+{ord(char):04X}) are not allowed"
    return None


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _out_of_limits(value: Any, *, free_text: bool) -> str | None:
    """Why ``value`` (a validated field value, searched through lists and mappings) is outside
    the API's limits, or None."""
    if isinstance(value, str):
        return _bad_character(value, free_text=free_text)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            return "out of range: an integer from -2^63 to 2^63-1"
        return None
    if isinstance(value, float | Decimal):
        return None if math.isfinite(value) else "must be a finite number"
    if isinstance(value, date):  # datetimes too
        if not EARLIEST <= _day(value) <= LATEST:
            return f"out of range: give a date or time {RANGE}"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            reason = _out_of_limits(key, free_text=False) or _out_of_limits(
                item, free_text=free_text
            )
            if reason:
                return reason
        return None
    if isinstance(value, list | tuple | set | frozenset):
        for item in value:
            reason = _out_of_limits(item, free_text=free_text)
            if reason:
                return reason
    return None


def _utc(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    if isinstance(value, list):
        return [_utc(item) for item in value]
    return value


def _annotations(annotation: Any) -> Iterator[Any]:
    yield annotation
    for arg in get_args(annotation):
        yield from _annotations(arg)
    yield from getattr(annotation, "__metadata__", ())


@cache
def _is_free_text(schema: type[Schema], field_name: str) -> bool:
    field = schema.model_fields.get(field_name)
    if field is None:
        return False
    return FREE_TEXT in field.metadata or any(
        meta is FREE_TEXT for meta in _annotations(field.annotation)
    )


def storable(value: datetime) -> datetime:
    """A time the database can store and compare (the limits above); kept for the fields that
    spell it out."""
    reason = _out_of_limits(value, free_text=False)
    if reason:
        raise ValueError(reason)
    return _utc(value)


# A time a filter or a body may carry (every date and time field obeys the same limits).
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
    """Filters of a list, and the base of every request body: every field within the limits;
    a time is written as one (ISO 8601), never as a number."""

    @field_validator("*", mode="after")
    @classmethod
    def within_limits(cls, value: Any, info: ValidationInfo) -> Any:
        reason = _out_of_limits(value, free_text=_is_free_text(cls, info.field_name or ""))
        if reason:
            raise ValueError(reason)
        return _utc(value)

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
