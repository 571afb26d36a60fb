"""The one NinjaAPI: every app's router under ``/api/v1``, docs at ``/api/docs``, and the
handlers that give every error the same shape ``{"code", "message", "detail"}``."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.types import DictStrAny

from allocation.api import router as allocation_router
from forecasting.api import router as forecasting_router
from fulfillment.api import router as fulfillment_router
from inventory.api import router as inventory_router
from network.api import router as network_router
from orders.api import router as orders_router
from orders.routing_api import router as routing_router

from .auth import api_auth
from .errors import ApplicationError, CommonErrorCode
from .limits import RateLimited
from .middleware import too_large

logger = logging.getLogger("omni.api")


class ObjectBodyParser(Parser):
    """Every request body of this API is a JSON object. ninja's schemas read any other JSON
    value as an object without fields, so ``[...]`` sent to a route whose fields all have
    defaults (release, receive a transfer) would silently mean "all defaults"."""

    def parse_body(self, request: HttpRequest) -> DictStrAny:
        data = super().parse_body(request)
        if not isinstance(data, dict):
            raise ValueError("the request body must be a JSON object")  # ninja answers 400
        return data


api = NinjaAPI(
    title="Omni",
    version="1",
    description="One stock pool and one order flow for stores, web shop, marketplaces and "
    "wholesale. Errors are always {code, message, detail}.",
    auth=api_auth,
    parser=ObjectBodyParser(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
api.add_router("/v1/", inventory_router)
api.add_router("/v1/", network_router)
# Before the orders router: ``/orders/waiting`` is a list, not an order id.
api.add_router("/v1/", routing_router)
api.add_router("/v1/", orders_router)
api.add_router("/v1/", fulfillment_router)
api.add_router("/v1/", forecasting_router)
api.add_router("/v1/", allocation_router)


def error_response(
    request: HttpRequest, status: int, code: str, message: str, detail: Any = None
) -> HttpResponse:
    body = {"code": code, "message": message, "detail": detail or {}}
    # pydantic error contexts may carry exceptions; make everything JSON-safe.
    safe = json.loads(json.dumps(body, default=str))
    return api.create_response(request, safe, status=status)


@api.exception_handler(ApplicationError)
def on_application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    response = error_response(request, exc.http_status, str(exc.code), exc.message, exc.detail)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {k: v for k, v in err.items() if k in {"type", "loc", "msg", "ctx"}} for err in exc.errors
    ]
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", [])[1:]) or "request"
    message = f"{where}: {first.get('msg', 'invalid input')}"
    return error_response(
        request, 422, CommonErrorCode.VALIDATION_ERROR, message, {"errors": errors}
    )


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(
        request,
        401,
        CommonErrorCode.UNAUTHENTICATED,
        "sign in or send 'Authorization: Bearer <token>'",
    )


@api.exception_handler(AuthorizationError)
def on_forbidden(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
    return error_response(request, 403, CommonErrorCode.PERMISSION_DENIED, str(exc))


@api.exception_handler(DjangoPermissionDenied)
def on_django_forbidden(request: HttpRequest, exc: DjangoPermissionDenied) -> HttpResponse:
    return error_response(request, 403, CommonErrorCode.PERMISSION_DENIED, str(exc) or "forbidden")


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = {
        400: CommonErrorCode.MALFORMED_REQUEST,
        401: CommonErrorCode.UNAUTHENTICATED,
        403: CommonErrorCode.PERMISSION_DENIED,  # ninja's CSRF failure for session users
        404: CommonErrorCode.NOT_FOUND,
        429: CommonErrorCode.RATE_LIMITED,
    }.get(exc.status_code, CommonErrorCode.MALFORMED_REQUEST)
    return error_response(request, exc.status_code, code, str(exc))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, CommonErrorCode.NOT_FOUND, "not found")


@api.exception_handler(DjangoValidationError)
def on_django_validation(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    return error_response(
        request,
        422,
        CommonErrorCode.VALIDATION_ERROR,
        "; ".join(exc.messages),
        {"errors": exc.messages},
    )


@api.exception_handler(RequestDataTooBig)
def on_too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    # A body without a declared length that grew past the limit while it was read.
    return too_large()


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(
        request, 500, CommonErrorCode.INTERNAL_ERROR, "internal error; it has been logged"
    )
