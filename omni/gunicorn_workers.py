"""gunicorn workers that answer gunicorn's own errors in the API's error shape.

gunicorn refuses some requests before Django sees them: a request line longer than
``limit_request_line`` (414), too many header fields or one too large (431), a malformed request
line, method, HTTP version, header or chunked body (400), an unsupported transfer coding (501),
an application that failed before it could answer (500). It answers them with a small HTML page.
These workers keep gunicorn's decision (status, reason, logging, the access log line) and write
the answer as ``{"code", "message", "detail"}`` JSON instead, so a client never has to parse
two error formats.

Use them with ``worker_class = "omni.gunicorn_workers.SyncWorker"`` (``ThreadWorker`` with
``threads > 1``); ``deploy/gunicorn.conf.py`` does. This module must stay importable without
Django settings: the arbiter loads it before the application.
"""

from __future__ import annotations

import json
import re
import socket
from typing import TYPE_CHECKING, Any

from gunicorn import util
from gunicorn.http import errors as http_errors
from gunicorn.workers.gthread import ThreadWorker as GunicornThreadWorker
from gunicorn.workers.sync import SyncWorker as GunicornSyncWorker

# Codes for the statuses gunicorn answers itself; the others are those of omni.errors.
CODES = {
    400: "malformed_request",
    403: "permission_denied",
    414: "uri_too_long",
    417: "expectation_failed",
    431: "header_fields_too_large",
    500: "internal_error",
    501: "not_implemented",
}
_STATUS_LINE = re.compile(rb"^HTTP/1\.[01] (\d{3}) ([^\r\n]*)\r\n")


class _CapturingSocket:
    """Stands in for the client's socket while gunicorn writes its HTML error: keeps the bytes,
    so its status and reason can be read back; everything else goes to the real socket."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.written = bytearray()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def sendall(self, data: bytes) -> None:
        self.written += data

    def send(self, data: bytes) -> int:
        self.written += data
        return len(data)


def error_body(exc: BaseException, status: int, reason: str, cfg: Any) -> dict[str, Any]:
    """The API error shape for a request gunicorn refused with ``status``."""
    code = CODES.get(status, "internal_error" if status >= 500 else "malformed_request")
    detail: dict[str, Any] = {}
    if isinstance(exc, http_errors.LimitRequestLine):
        message = "the request line is longer than the server reads"
        detail["limit"] = cfg.limit_request_line
    elif isinstance(exc, http_errors.LimitRequestHeaders):
        message = "too many header fields, or one too large"
        detail["max_fields"] = cfg.limit_request_fields
        detail["max_field_size"] = cfg.limit_request_field_size
    elif status >= 500:
        # An application failure: its exception may name internals, so it is only logged.
        message = reason.lower()
    else:
        message = f"{reason.lower()}: {exc}" if str(exc) else reason.lower()
    return {"code": code, "message": message, "detail": detail}


if TYPE_CHECKING:
    from gunicorn.workers.base import Worker as _Base
else:
    _Base = object


class JsonErrorsMixin(_Base):
    """Overrides ``handle_error`` of a gunicorn worker (see the module docstring)."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        captured = _CapturingSocket(client)
        super().handle_error(req, captured, addr, exc)
        match = _STATUS_LINE.match(bytes(captured.written))
        if match is None:  # gunicorn wrote nothing (or changed its format): nothing to rewrite
            if captured.written:
                self._send(client, bytes(captured.written))
            return
        status = int(match.group(1))
        reason = match.group(2).decode("latin-1")
        body = json.dumps(error_body(exc, status, reason, self.cfg)).encode()
        head = (
            f"HTTP/1.1 {status} {reason}\r\n"
            "Connection: close\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            "\r\n"
        ).encode("latin-1")
        self._send(client, head + body)

    def _send(self, client: Any, data: bytes) -> None:
        try:
            util.write_nonblock(client, data)
        except Exception:
            self.log.debug("Failed to send error message.")


class SyncWorker(JsonErrorsMixin, GunicornSyncWorker):
    """gunicorn's ``sync`` worker, answering its own errors as JSON."""


class ThreadWorker(JsonErrorsMixin, GunicornThreadWorker):
    """gunicorn's ``gthread`` worker, answering its own errors as JSON."""
