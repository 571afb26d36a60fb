"""Log records that say which request (or which task) they belong to.

A request id is taken from the caller's ``X-Request-ID`` header or made up (``RequestIdMiddleware``
in ``omni.observability``), returned in the response and kept in a context variable for as long
as the request runs. Every task the request queues carries it in a message header and sets it
again in the worker (the Celery signals in ``omni.observability``), so the lines a task logs name
the request that caused it. ``RequestIdFilter`` writes it onto every record that passes through
a handler; the formatters below print it. Nothing here touches models: ``LOGGING`` imports this
module before the apps are ready.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

REQUEST_ID: ContextVar[str] = ContextVar("omni_request_id", default="")
TASK: ContextVar[str] = ContextVar("omni_task", default="")
HEADER = "X-Request-ID"
# What a caller's id may look like: a proxy's or a load balancer's ids fit, log injection does not.
_ACCEPTED = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_from(value: str | None) -> str:
    """The caller's id when it is a sane token, else a new one."""
    if value and _ACCEPTED.match(value):
        return value
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` and ``task`` to every record (empty outside a request or a task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = REQUEST_ID.get()
        if not getattr(record, "task", ""):
            record.task = TASK.get()
        return True


class OmniJsonFormatter(JsonFormatter):
    """One JSON object per line: time, level, logger, message, request_id, task and whatever a
    call passed in ``extra``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "fmt", "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(task)s"
        )
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level"})
        super().__init__(*args, **kwargs)


def logging_config(log_format: str, level: str, apps: list[str]) -> dict[str, Any]:
    """``LOGGING`` for ``json`` (production) or ``plain`` (a terminal) lines.

    Every record goes to one console handler on the root logger; the apps' loggers (and
    Celery's) pass theirs up at ``level``, everything else at WARNING.
    """
    formatters = {
        "json": {"()": "omni.logs.OmniJsonFormatter"},
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s%(task)s]: %(message)s"
        },
    }
    if log_format not in formatters:
        raise ValueError(f"OMNI_LOG_FORMAT must be json or plain, not {log_format!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "omni.logs.RequestIdFilter"}},
        "formatters": {log_format: formatters[log_format]},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": "WARNING"},
        # axes says WARNING when it locks someone out; its INFO lines are start-up chatter.
        "loggers": {name: {"level": level} for name in [*apps, "celery"]}
        | {"axes": {"level": "WARNING"}},
    }
