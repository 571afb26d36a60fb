"""gunicorn's own refusals (before Django sees the request) come in the API's error shape.

A real gunicorn, started with the deployment's config file (deploy/gunicorn.conf.py) on a free
port and a throwaway SQLite database, with each worker class that file can choose; raw requests
over a socket, because an HTTP client library refuses to send most of them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

CONFIG = Path(settings.BASE_DIR) / "deploy" / "gunicorn.conf.py"
START_TIMEOUT = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _exchange(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Sends ``raw``, reads the whole answer (the server closes the connection after an error)
    and splits it into status, headers (lower-cased names) and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(raw)
        conn.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


@pytest.fixture(params=["sync", "gthread"])
def gunicorn_port(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[int]:
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "omni.settings.base",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'omni.sqlite3'}",
        "OMNI_VAR_DIR": str(tmp_path),
        "REDIS_URL": "",
        "OMNI_WEB_BIND": f"127.0.0.1:{port}",
        "OMNI_WEB_WORKERS": "1",
        "OMNI_WEB_THREADS": "2" if request.param == "gthread" else "1",
    }
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(CONFIG), "omni.wsgi"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start:\n{log_path.read_text()[-3000:]}")
            try:
                _exchange(port, b"GET /api/v1/nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                break
            except (OSError, IndexError, ValueError):
                time.sleep(0.2)
        log_text = log_path.read_text()
        worker = "ThreadWorker" if request.param == "gthread" else "SyncWorker"
        assert f"omni.gunicorn_workers.{worker}" in log_text
        yield port
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _assert_shape(answer: tuple[int, dict[str, str], bytes], status: int, code: str) -> dict:
    got_status, headers, body = answer
    assert got_status == status, body
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    error = json.loads(body)
    assert set(error) == {"code", "message", "detail"}
    assert error["code"] == code
    assert error["message"]
    return dict(error)


def test_gunicorn_refusals_are_json_in_the_error_shape(gunicorn_port: int) -> None:
    port = gunicorn_port
    host = b"Host: 127.0.0.1\r\n"

    long_url = b"GET /api/v1/products?q=" + b"x" * 5000 + b" HTTP/1.1\r\n" + host + b"\r\n"
    error = _assert_shape(_exchange(port, long_url), 414, "uri_too_long")
    assert error["detail"] == {"limit": 4094}

    big_header = (
        b"GET /api/v1/products HTTP/1.1\r\n" + host + b"X-Big: " + b"y" * 9000 + b"\r\n\r\n"
    )
    error = _assert_shape(_exchange(port, big_header), 431, "header_fields_too_large")
    assert error["detail"] == {"max_fields": 100, "max_field_size": 8190}

    many = b"".join(b"X-H%d: v\r\n" % i for i in range(150))
    too_many = b"GET /api/v1/products HTTP/1.1\r\n" + host + many + b"\r\n"
    _assert_shape(_exchange(port, too_many), 431, "header_fields_too_large")

    _assert_shape(_exchange(port, b"NOT A REQUEST LINE\r\n\r\n"), 400, "malformed_request")
    _assert_shape(
        _exchange(port, b"GET /api/v1/products HTTP/9.9\r\n" + host + b"\r\n"),
        400,
        "malformed_request",
    )


def test_requests_gunicorn_accepts_still_reach_the_api(gunicorn_port: int) -> None:
    """The worker classes only change gunicorn's own errors: Django answers the rest, the
    same as under any server (here an unknown path, and a header just under the limit)."""
    header = b"X-Fine: " + b"z" * 8000 + b"\r\n"
    request = b"GET /api/v1/nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n" + header + b"\r\n"
    error = _assert_shape(_exchange(gunicorn_port, request), 404, "not_found")
    assert error["detail"] == {}
