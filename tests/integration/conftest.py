"""The integration suite: real PostgreSQL, real threads with their own connections, a real
Celery worker. Everything here is marked ``integration`` (run it with ``make test-integration``)
and skips when the database is not PostgreSQL, because SQLite serialises writers and would
prove nothing about row locks."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from inventory.invariants import assert_invariants
from loyalty.invariants import assert_invariants as assert_loyalty_invariants
from omni.celery import app as celery_app
from tests.helpers import database_url

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    not_postgres = pytest.mark.skip(
        reason=f"integration tests need PostgreSQL (DATABASE_URL points at {connection.vendor}); "
        "run `make test-integration`"
    )
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.integration)
            if connection.vendor != "postgresql":
                item.add_marker(not_postgres)


@pytest.fixture(autouse=True)
def _invariants_after_each_test(transactional_db: Any) -> Iterator[None]:
    """Every test here ends with the ledger invariants (stock and discounts), before the tables
    are flushed."""
    yield
    assert_invariants()
    assert_loyalty_invariants()


@pytest.fixture
def start_worker(
    transactional_db: object, tmp_path: Path
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Starts real ``celery worker --pool=solo`` processes on the test database (``env``: more
    environment for one, e.g. its settings); each in its own process group, killed at the end
    whatever happened."""
    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.REDIS_URL:
        pytest.fail("needs REDIS_URL (a real broker): run it with make test-integration")
    celery_app.control.purge()
    workers: list[subprocess.Popen[bytes]] = []

    def start(name: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        node = f"{name}-{os.getpid()}@localhost"
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "OMNI_FORECAST_JOBS": "1",
            **(env or {}),
        }
        log_path = tmp_path / f"{name}.log"
        worker = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("celery")),
                "-A",
                "omni",
                "worker",
                "--pool=solo",
                "--loglevel=warning",
                "--without-gossip",
                "--without-mingle",
                "-n",
                node,
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log_path.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a kill takes all of it
        )
        workers.append(worker)
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(destination=[node], timeout=1.0):
            if worker.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"worker {name} did not start:\n{log_path.read_text()[-3000:]}")
        return worker

    try:
        yield start
    finally:
        for worker in workers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
