"""Operations against real processes: a private ``redis-server`` on a spare port, a gunicorn web
process and Celery workers pointed at it (never the shared Redis), on the test database.

Readiness goes red naming the failing check when Redis stops and when the worker stops, and
green again when each comes back. A request's id reaches the JSON log lines of the task it
queued, in another process; that task's first send fails (the mail directory is blocked), is
retried by the worker and goes out once.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from fulfillment import services
from fulfillment.models import Notification
from fulfillment.tests.fixtures import pick_all
from inventory.models import Location, Product
from network.models import Channel
from omni.models import User
from omni.services import api_token_create
from tests.factories import PickupOrderFactory, ReceiptFactory
from tests.helpers import database_url

BIN = Path(sys.executable).parent
DEADLINE = 120.0  # seconds any one state may take to show (a worker reconnecting backs off)


def spare_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


class Stack:
    """The private Redis, the web process and the workers of one test, killed at the end."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.redis_port = spare_port()
        self.web_port = spare_port()
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.redis: subprocess.Popen[bytes] | None = None
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "omni.settings.base",
            "DATABASE_URL": database_url(),
            "REDIS_URL": self.redis_url,
            "OMNI_LOG_FORMAT": "json",
            "OMNI_LOG_LEVEL": "INFO",
            "OMNI_HEALTH_CELERY_TIMEOUT": "2",
            "OMNI_NOTIFY_RETRY_SECONDS": "1",
            "OMNI_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OMNI_EMAIL_FILE_PATH": str(tmp_path / "mail"),
        }

    def spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            argv,
            cwd=settings.BASE_DIR,
            env=self.env,
            stdout=(self.tmp / f"{name}.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def redis_start(self) -> None:
        self.redis = self.spawn(
            "redis",
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
        )

    def redis_stop(self) -> None:
        assert self.redis is not None
        kill(self.redis)

    def web_start(self) -> None:
        self.spawn(
            "web",
            [
                str(BIN / "gunicorn"),
                "omni.wsgi",
                "-b",
                f"127.0.0.1:{self.web_port}",
                "-w",
                "1",
                "--timeout",
                "60",
            ],
        )
        self.wait_for(lambda: self.get("/health/live")[0] == 200, "the web process to start")

    def worker_start(self, name: str) -> subprocess.Popen[bytes]:
        return self.spawn(
            name,
            [
                str(BIN / "celery"),
                "-A",
                "omni",
                "worker",
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"{name}-{os.getpid()}@localhost",
            ],
        )

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path)

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.web_port}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read() or b"null")
        except OSError:
            return 0, None

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + DEADLINE
        while not condition():
            if time.monotonic() > deadline:
                logs = {p.name: p.read_text()[-2000:] for p in self.tmp.glob("*.log")}
                pytest.fail(f"waited {DEADLINE:.0f}s for {what}; logs: {logs}")
            time.sleep(0.5)

    def ready(self, **expected: str) -> None:
        """Wait until /health/ready says exactly ``expected`` of each check."""
        want_status = 200 if all(v == "ok" for v in expected.values()) else 503

        def matches() -> bool:
            status, body = self.get("/health/ready")
            return status == want_status and body is not None and body["checks"] == expected

        self.wait_for(matches, f"/health/ready to say {expected}")

    def json_lines(self, name: str) -> list[dict[str, Any]]:
        lines = []
        for raw in (self.tmp / f"{name}.log").read_text().splitlines():
            with contextlib.suppress(ValueError):
                line = json.loads(raw)
                if isinstance(line, dict):
                    lines.append(line)
        return lines


@pytest.fixture
def stack(transactional_db: Any, tmp_path: Path) -> Iterator[Stack]:
    running = Stack(tmp_path)
    try:
        yield running
    finally:
        for process in running.processes:
            kill(process)


def test_readiness_follows_redis_and_the_worker(stack: Stack) -> None:
    stack.redis_start()
    stack.web_start()
    # Live from the start: liveness touches no dependency.
    assert stack.get("/health/live") == (200, {"status": "ok"})
    stack.ready(database="ok", redis="ok", celery="unavailable")  # no worker yet
    worker = stack.worker_start("w1")
    stack.ready(database="ok", redis="ok", celery="ok")

    stack.redis_stop()
    stack.ready(database="ok", redis="unavailable", celery="unavailable")
    assert stack.get("/health/live")[0] == 200
    stack.redis_start()  # same port: the worker reconnects by itself
    stack.ready(database="ok", redis="ok", celery="ok")

    kill(worker)
    stack.ready(database="ok", redis="ok", celery="unavailable")
    stack.worker_start("w2")
    stack.ready(database="ok", redis="ok", celery="ok")
    status, body = stack.get("/health/ready")
    assert (status, body["status"]) == (200, "ok")


def test_request_id_reaches_the_task_which_retries_a_failed_send(
    stack: Stack,
    tmp_path: Path,
    web: Channel,
    store: Location,
    store_user: User,
    goods: tuple[Product, Product],
) -> None:
    ReceiptFactory.create(location=store, lines={"A": 3})
    order = PickupOrderFactory.create(
        channel=web, external_id="ops-1", store=store, lines={goods[0]: 1}
    )
    pick_all(services.pickup_prepare(order=order))
    _, token = api_token_create(user=store_user, name="ops test")
    # The mail directory's place is taken by a file: the first send fails.
    blocker = tmp_path / "mail"
    blocker.write_text("not a directory")
    stack.redis_start()
    stack.web_start()
    stack.worker_start("w1")
    stack.ready(database="ok", redis="ok", celery="ok")

    status, body = stack.request(
        "POST",
        f"/api/v1/orders/{order.pk}/pickup/ready",
        {},
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "ops-req-0001"},
    )
    assert status == 200, body
    note = Notification.objects.get(order=order)

    def failed_once() -> bool:
        note.refresh_from_db()
        return note.attempts >= 1

    stack.wait_for(failed_once, "the first send to fail")
    assert note.sent_at is None
    assert note.last_error.startswith("ImproperlyConfigured")
    blocker.unlink()  # the mail directory can be made now: the retry goes through

    def sent() -> bool:
        note.refresh_from_db()
        return note.sent_at is not None

    stack.wait_for(sent, "the retried send")
    assert note.attempts >= 2 and note.last_error == ""
    assert len(list((tmp_path / "mail").iterdir())) == 1  # sent once

    # The web process logged the request under its id ...
    (request_line,) = [
        ln
        for ln in stack.json_lines("web")
        if ln.get("name") == "omni.request" and ln.get("request_id") == "ops-req-0001"
    ]
    assert request_line["path"] == f"/api/v1/orders/{order.pk}/pickup/ready"
    # ... and the worker logged the failed try, the retry and the send under the same id.
    task_lines = [
        ln for ln in stack.json_lines("w1") if ln.get("name", "").startswith("fulfillment")
    ]
    messages = [(ln["request_id"], ln["message"]) for ln in task_lines]
    assert any(m.startswith(f"notification {note.pk} not sent (try 1)") for _, m in messages)
    assert any(m.startswith(f"notification {note.pk} sent") for _, m in messages)
    assert {rid for rid, _ in messages} == {"ops-req-0001"}, messages
    assert all(
        ln["task"].startswith("fulfillment.tasks.notification_send_task[") for ln in task_lines
    )
