"""The one error shape of the API and the exceptions that produce it.

Services raise an ``ApplicationError`` subclass; the handler registered in ``omni.api`` turns it
into ``{"code": ..., "message": ..., "detail": {...}}`` with the subclass's HTTP status.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar


class CommonErrorCode(StrEnum):
    NOT_FOUND = "not_found"
    UNKNOWN_CITY = "unknown_city"
    PERMISSION_DENIED = "permission_denied"
    UNAUTHENTICATED = "unauthenticated"
    VALIDATION_ERROR = "validation_error"
    MALFORMED_REQUEST = "malformed_request"
    CONFLICT = "conflict"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    IDEMPOTENCY_KEY_INVALID = "idempotency_key_invalid"
    RATE_LIMITED = "rate_limited"
    INTERNAL_ERROR = "internal_error"


class ApplicationError(Exception):
    """A failure the caller can understand and act on."""

    code: ClassVar[str] = str(CommonErrorCode.VALIDATION_ERROR)
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, *, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or {}

    def as_dict(self) -> dict[str, Any]:
        return {"code": str(self.code), "message": self.message, "detail": self.detail}


class NotFound(ApplicationError):
    """Also what a user gets for something outside their locations: never a leak."""

    code: ClassVar[str] = CommonErrorCode.NOT_FOUND
    http_status = 404


class PermissionDenied(ApplicationError):
    code: ClassVar[str] = CommonErrorCode.PERMISSION_DENIED
    http_status = 403


class InvalidInput(ApplicationError):
    code: ClassVar[str] = CommonErrorCode.VALIDATION_ERROR
    http_status = 422


class Conflict(ApplicationError):
    code: ClassVar[str] = CommonErrorCode.CONFLICT
    http_status = 409


class IdempotencyKeyReused(ApplicationError):
    code: ClassVar[str] = CommonErrorCode.IDEMPOTENCY_KEY_REUSED
    http_status = 409


class IdempotencyKeyInvalid(ApplicationError):
    code: ClassVar[str] = CommonErrorCode.IDEMPOTENCY_KEY_INVALID
    http_status = 400


class UnknownCity(NotFound):
    """No city has this code."""

    code: ClassVar[str] = CommonErrorCode.UNKNOWN_CITY

    def __init__(self, city_code: str | None = None, *, message: str | None = None) -> None:
        detail = {"city": city_code} if city_code is not None else {}
        super().__init__(message or f"no city {city_code!r}", detail=detail)
