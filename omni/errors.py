"""The one error shape of the API and the exceptions that produce it.

Services raise an ``ApplicationError`` subclass; the handler registered in ``omni.api`` turns it
into ``{"code": ..., "message": ..., "detail": {...}}`` with the subclass's HTTP status.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Self

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from .models import User


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
    METHOD_NOT_ALLOWED = "method_not_allowed"
    REQUEST_TOO_LARGE = "request_too_large"
    RATE_LIMITED = "rate_limited"
    INTERNAL_ERROR = "internal_error"


class ApplicationError(Exception):
    """A failure the caller can understand and act on.

    ``message`` is a template (``gettext_lazy``, ``%(name)s`` placeholders) filled with
    ``params`` each time it is read, so it speaks the language active then: the request's on an
    API answer or a staff page, English (``LANGUAGE_CODE``) in commands, tasks and logs. The
    subclasses of each app build their message, params and ``detail`` from the objects they are
    given, so a raise is one line and a class's detail always has the same keys.
    """

    code: ClassVar[str] = str(CommonErrorCode.VALIDATION_ERROR)
    http_status: ClassVar[int] = 400

    def __init__(
        self,
        message: StrOrPromise,
        *,
        detail: dict[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.template = message
        # None: the message is plain text, never %-formatted (it may hold a literal "%").
        self.params = dict(params) if params is not None else None
        self.detail = detail or {}

    @classmethod
    def saying(
        cls, message: StrOrPromise, *, detail: dict[str, Any] | None = None, **params: Any
    ) -> Self:
        """An error of this class with a message of its own, for a one-off refusal the class's
        constructor does not word (its detail is whatever the caller gives, often none)."""
        error = cls.__new__(cls)
        ApplicationError.__init__(error, message, detail=detail, params=params or None)
        return error

    @property
    def message(self) -> str:
        text = str(self.template)
        return text % self.params if self.params is not None else text

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # The subclasses' constructors take objects, not the message: rebuild from the state.
        return (_rebuild_error, (type(self), self.__dict__))

    def as_dict(self) -> dict[str, Any]:
        return {"code": str(self.code), "message": self.message, "detail": self.detail}


def _rebuild_error(cls: type[ApplicationError], state: dict[str, Any]) -> ApplicationError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("template", ""))
    error.__dict__.update(state)
    return error


class OneOf:
    """Words joined with "or" ("draft or approved"), in the language active when shown."""

    def __init__(self, words: Iterable[object]) -> None:
        self.words = [str(w) for w in words]

    def __str__(self) -> str:
        return pgettext("between alternatives", " or ").join(self.words)


class NotFound(ApplicationError):
    """Also what a user gets for something outside their locations: never a leak."""

    code: ClassVar[str] = CommonErrorCode.NOT_FOUND
    http_status = 404


class PermissionDenied(ApplicationError):
    code: ClassVar[str] = CommonErrorCode.PERMISSION_DENIED
    http_status = 403


class RoleNotAllowed(PermissionDenied):
    """The user's role may not do this; ``detail["role"]`` names the role. ``message`` may say
    ``%(role)s``."""

    def __init__(self, user: User, message: StrOrPromise) -> None:
        super().__init__(message, detail={"role": user.role}, params={"role": user.role})


class InvalidInput(ApplicationError):
    code: ClassVar[str] = CommonErrorCode.VALIDATION_ERROR
    http_status = 422


class Conflict(ApplicationError):
    code: ClassVar[str] = CommonErrorCode.CONFLICT
    http_status = 409


class IdempotencyKeyReused(ApplicationError):
    """The key came with another request body; ``detail`` has the ``key`` and the path it
    was ``first_used_for``."""

    code: ClassVar[str] = CommonErrorCode.IDEMPOTENCY_KEY_REUSED
    http_status = 409

    def __init__(self, *, header: str, key: str, first_used_for: str) -> None:
        super().__init__(
            _("this %(header)s was used for a different request"),
            detail={"key": key, "first_used_for": first_used_for},
            params={"header": header},
        )


class IdempotencyKeyInvalid(ApplicationError):
    code: ClassVar[str] = CommonErrorCode.IDEMPOTENCY_KEY_INVALID
    http_status = 400

    def __init__(self, *, header: str, max_length: int) -> None:
        super().__init__(
            _("%(header)s must be 1 to %(max)s printable characters"),
            params={"header": header, "max": max_length},
        )


class UnknownCity(NotFound):
    """No city with that code; without a code, no city at all yet (no detail then). The one city
    lookup (``omni.selectors.city_by_code``) raises it."""

    code: ClassVar[str] = CommonErrorCode.UNKNOWN_CITY

    def __init__(self, code: str | None) -> None:
        if code is None:
            super().__init__(_("Omni runs in no city yet"))
        else:
            super().__init__(_("no city %(city)r"), detail={"city": code}, params={"city": code})
