"""Keep the one error shape for the few API errors Django or ninja answer before our handlers
run (a wrong method, an oversized body): any non-JSON 4xx/5xx under ``/api/`` is rewritten.
Paths with a NUL character are refused before they reach a view."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .errors import CommonErrorCode

CODES = {
    400: CommonErrorCode.MALFORMED_REQUEST,
    401: CommonErrorCode.UNAUTHENTICATED,
    403: CommonErrorCode.PERMISSION_DENIED,
    404: CommonErrorCode.NOT_FOUND,
    405: "method_not_allowed",
    413: "request_too_large",
    429: CommonErrorCode.RATE_LIMITED,
}


class ApiErrorShapeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/") and "\x00" in request.path:
            # PostgreSQL text cannot hold NUL: such a path can name nothing.
            return HttpResponse(
                json.dumps(
                    {
                        "code": str(CommonErrorCode.MALFORMED_REQUEST),
                        "message": "NUL characters are not allowed in a path",
                        "detail": {},
                    }
                ),
                status=400,
                content_type="application/json",
            )
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
