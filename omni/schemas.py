"""Base schemas of the API: what every request and error looks like."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import ConfigDict, field_validator


def _no_nul(value: Any) -> Any:
    # PostgreSQL text cannot hold NUL; refuse it here rather than fail in the database.
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


class QuerySchema(Schema):
    """Filters of a list."""

    @field_validator("*", mode="before")
    @classmethod
    def no_nul(cls, value: Any) -> Any:
        return _no_nul(value)


class InputSchema(QuerySchema):
    """A request body. Unknown fields are refused: a typo such as ``{"line": [...]}`` must not
    silently mean "no lines"."""

    model_config = ConfigDict(extra="forbid")


class ErrorOut(Schema):
    code: str
    message: str
    detail: dict[str, Any]
