"""Every request gets an id, a metric and an access line; every Celery task a duration, its
failures and the id of the request that queued it.

``RequestMiddleware`` runs first: it takes ``X-Request-ID`` from the caller (or makes one up),
returns it on the response, keeps it in ``omni.logs.REQUEST_ID`` while the request runs, counts
the request by method, URL pattern and status and logs one ``omni.request`` line when it is
answered. The Celery signals connected here put the id into the headers of every task published
while it is set, and set it again in the worker while that task runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from celery import signals
from django.http import HttpRequest, HttpResponse

from . import logs, metrics

logger = logging.getLogger("omni.request")
TASK_HEADER = "omni_request_id"


class RequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = logs.request_id_from(request.headers.get(logs.HEADER))
        token = logs.REQUEST_ID.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            elapsed = time.perf_counter() - started
            response[logs.HEADER] = request_id
            route = _route(request)
            method = request.method or ""
            metrics.HTTP_REQUESTS.labels(method, route, str(response.status_code)).inc()
            metrics.HTTP_LATENCY.labels(method, route).observe(elapsed)
            logger.info(
                "%s %s %s",
                method,
                request.path,
                response.status_code,
                extra={
                    "method": method,
                    "path": request.path,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 1),
                },
            )
            return response
        finally:
            logs.REQUEST_ID.reset(token)


def _route(request: HttpRequest) -> str:
    """The URL pattern that answered (``api/v1/orders/<int:order_id>``), not the path: a label
    per order id would grow without end."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return str(match.route) or "/"


# --------------------------------------------------------------------------- Celery


@signals.before_task_publish.connect(dispatch_uid="omni.request_id_into_task")
def _request_id_into_task(headers: dict[str, Any] | None = None, **_: Any) -> None:
    request_id = logs.REQUEST_ID.get()
    if request_id and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


_started: dict[str, float] = {}


@signals.task_prerun.connect(dispatch_uid="omni.task_started")
def _task_started(task_id: str = "", task: Any = None, **_: Any) -> None:
    _started[task_id] = time.perf_counter()
    if task is None or task.request.is_eager:
        return  # an eager task runs inside the request (or task) that called it: same id
    logs.REQUEST_ID.set(getattr(task.request, TASK_HEADER, None) or "")
    logs.TASK.set(f"{task.name}[{task_id}]")


@signals.task_postrun.connect(dispatch_uid="omni.task_finished")
def _task_finished(task_id: str = "", task: Any = None, state: str = "", **_: Any) -> None:
    started = _started.pop(task_id, None)
    if started is not None and task is not None:
        metrics.TASK_DURATION.labels(task.name, (state or "unknown").lower()).observe(
            time.perf_counter() - started
        )
    if task is not None and not task.request.is_eager:
        logs.REQUEST_ID.set("")
        logs.TASK.set("")


@signals.task_failure.connect(dispatch_uid="omni.task_failed")
def _task_failed(sender: Any = None, **_: Any) -> None:
    metrics.TASK_FAILURES.labels(getattr(sender, "name", "unknown")).inc()


@signals.task_retry.connect(dispatch_uid="omni.task_retried")
def _task_retried(sender: Any = None, **_: Any) -> None:
    metrics.TASK_RETRIES.labels(getattr(sender, "name", "unknown")).inc()
