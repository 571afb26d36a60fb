"""The one NinjaAPI: every app's router under ``/api/v1``, docs at ``/api/docs``, and the
handlers that give every error the same shape ``{"code", "message", "detail"}``."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError
from ninja.operation import Operation
from ninja.parser import Parser
from ninja.types import DictStrAny

from allocation.api import router as allocation_router
from forecasting.api import router as forecasting_router
from fulfillment.api import router as fulfillment_router
from inventory.api import router as inventory_router
from inventory.valuation_api import router as valuation_router
from loyalty.api import router as loyalty_router
from network.api import router as network_router
from orders.api import router as orders_router
from orders.routing_api import router as routing_router
from purchasing.api import router as purchasing_router
from purchasing.policies_api import router as policies_router
from purchasing.proposals_api import router as proposals_router

from .auth import api_auth
from .errors import ApplicationError, CommonErrorCode
from .limits import RateLimited
from .middleware import too_large
from .schemas import ErrorOut

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
api.add_router("/v1/", valuation_router)
api.add_router("/v1/", network_router)
# Before the orders router: ``/orders/waiting`` is a list, not an order id.
api.add_router("/v1/", routing_router)
api.add_router("/v1/", orders_router)
api.add_router("/v1/", fulfillment_router)
api.add_router("/v1/", forecasting_router)
api.add_router("/v1/", allocation_router)
api.add_router("/v1/", purchasing_router)
api.add_router("/v1/", proposals_router)
api.add_router("/v1/", policies_router)
api.add_router("/v1/", loyalty_router)

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def error_statuses(operation: Operation) -> set[int]:
    """The error statuses an operation can answer, from its shape (docs/api.md, "Errors"):

    * 400 with a body or a path parameter: malformed JSON, a body that is not an object, a NUL
      in the path, a bad ``Idempotency-Key``;
    * 401 and 403 when it needs a caller: no or a bad token; a role refused, or a session
      request without its CSRF token;
    * 404 and 422 when it takes any input: a path, filter or body naming nothing (or nothing
      the caller may see); a value outside its field's limits;
    * 409 when it changes something or names an object by its path: the object is in the
      wrong state, or an ``Idempotency-Key`` was used for another request;
    * 413 when it changes something (a body over the upload limit);
    * 414 and 431 on every operation: the server in front of the API (gunicorn, with the
      worker classes of ``omni.gunicorn_workers``) refuses an over-long request line or
      oversized headers before the API sees them, in the same error shape;
    * 429 when ninja throttles it (an operation limited by ``omni.limits`` declares its 429).

    An operation that can answer more (a read refused with 409) declares it in its own
    ``response``; nothing needs to declare these."""
    sources = {model.__ninja_param_source__ for model in operation.signature.models}
    has_path, has_body = "path" in sources, bool(sources & {"body", "form", "file"})
    unsafe = bool(UNSAFE & set(operation.methods))
    statuses = {414, 431}
    if has_body or has_path:
        statuses.add(400)
    if operation.auth_callbacks:
        statuses |= {401, 403}
    if sources:
        statuses |= {404, 422}
    if unsafe or has_path:
        statuses.add(409)
    if unsafe:
        statuses.add(413)
    if operation.throttle_objects:
        statuses.add(429)
    return statuses


def document_errors(operation: Operation) -> None:
    """Add every error status the operation can answer to its responses, with the error shape,
    so the OpenAPI schema lists them all."""
    for status in sorted(error_statuses(operation) - set(operation.response_models)):
        operation.response_models[status] = operation._create_response_model(ErrorOut)


# ninja binds (copies) each router's operations to the API; document the bound copies, which
# serve the requests and the schema. No router may be added after this.
for _bound in api._get_bound_routers():
    for _view in _bound.path_operations.values():
        for _operation in _view.operations:
            document_errors(_operation)


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


@api.exception_handler(DataError)
def on_data_error(request: HttpRequest, exc: DataError) -> HttpResponse:
    return out_of_range(request, exc)


@api.exception_handler(OverflowError)
def on_overflow(request: HttpRequest, exc: OverflowError) -> HttpResponse:
    return out_of_range(request, exc)


def out_of_range(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A value the database (SQLite: OverflowError; PostgreSQL: DataError) or a date
    calculation could not hold. The schemas' limits (omni.schemas) refuse such input first;
    this answer is the net under them, logged so the field that needs a limit is found."""
    logger.warning("out-of-range value on %s %s", request.method, request.path, exc_info=exc)
    if transaction.get_connection().in_atomic_block:
        transaction.set_rollback(True)  # PostgreSQL: the transaction is unusable now
    return error_response(
        request,
        422,
        CommonErrorCode.VALIDATION_ERROR,
        "a value is out of the range Omni can store",
    )


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(
        request, 500, CommonErrorCode.INTERNAL_ERROR, "internal error; it has been logged"
    )
