"""Keep the one error shape for the few API errors Django or ninja answer before our handlers
run (a wrong method, an oversized body): any non-JSON 4xx/5xx under ``/api/`` is rewritten.
Paths with a NUL character, and bodies larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413), are
refused before they reach a view."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .errors import CommonErrorCode

CODES = {
    400: CommonErrorCode.MALFORMED_REQUEST,
    401: CommonErrorCode.UNAUTHENTICATED,
    403: CommonErrorCode.PERMISSION_DENIED,
    404: CommonErrorCode.NOT_FOUND,
    405: CommonErrorCode.METHOD_NOT_ALLOWED,
    413: CommonErrorCode.REQUEST_TOO_LARGE,
    429: CommonErrorCode.RATE_LIMITED,
}


def body_limit() -> int:
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)


def too_large() -> HttpResponse:
    """413 in the error shape: the body is larger than the API reads."""
    limit = body_limit()
    return _shaped(
        413,
        CommonErrorCode.REQUEST_TOO_LARGE,
        f"the body is larger than {limit:,} bytes",
        {"limit": limit},
    )


def _shaped(status: int, code: str, message: str, detail: dict[str, object]) -> HttpResponse:
    return HttpResponse(
        json.dumps({"code": code, "message": message, "detail": detail}),
        status=status,
        content_type="application/json",
    )


class ApiErrorShapeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/") and "\x00" in request.path:
            # PostgreSQL text cannot hold NUL: such a path can name nothing.
            return _shaped(
                400,
                str(CommonErrorCode.MALFORMED_REQUEST),
                "NUL characters are not allowed in a path",
                {},
            )
        if request.path.startswith("/api/") and _declared_length(request) > body_limit() > 0:
            return too_large()
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path.startswith("/api/")
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        status = response.status_code
        code = CODES.get(status, CommonErrorCode.INTERNAL_ERROR if status >= 500 else "error")
        message = {405: f"{request.method} is not allowed here"}.get(
            status, response.reason_phrase.lower()
        )
        detail = {"allowed": response["Allow"].split(", ")} if response.has_header("Allow") else {}
        shaped = HttpResponse(
            json.dumps({"code": str(code), "message": message, "detail": detail}),
            status=status,
            content_type="application/json",
        )
        if response.has_header("Allow"):
            shaped["Allow"] = response["Allow"]
        return shaped


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
