"""Expiring overdue holds from two places at once (two beat ticks, two workers): each hold is
released exactly once, in threads and through a real Celery worker."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from inventory import services
from inventory.models import Location, Reservation, ReservationStatus, StockLevel
from inventory.tasks import reservations_expire_task
from omni.celery import app as celery_app
from tests.factories import ProductFactory
from tests.helpers import database_url

from .threads import run_together

pytestmark = pytest.mark.django_db(transaction=True)

SKUS = 4
DUE_PER_SKU = 50
NOT_DUE_PER_SKU = 5


@pytest.fixture
def due_holds(dc: Location) -> int:
    """200 overdue holds over four SKUs, plus a few that are not due and must stay active."""
    products = [ProductFactory.create(sku=f"EXP-{n}") for n in range(SKUS)]
    services.stock_receive(location=dc, lines=[(p, 100) for p in products])
    past, future = timezone.now() - timedelta(minutes=5), timezone.now() + timedelta(hours=1)
    for product in products:
        for n in range(DUE_PER_SKU + NOT_DUE_PER_SKU):
            services.stock_reserve(
                product=product,
                location=dc,
                quantity=1,
                owner_type="pickup",
                owner_id=f"{product.sku}-{n}",
                expires_at=past if n < DUE_PER_SKU else future,
            )
    return SKUS * DUE_PER_SKU


def assert_each_due_hold_expired_once(due: int) -> None:
    assert Reservation.objects.filter(status=ReservationStatus.EXPIRED).count() == due
    assert Reservation.objects.filter(status=ReservationStatus.ACTIVE).count() == (
        SKUS * NOT_DUE_PER_SKU
    )
    for level in StockLevel.objects.all():
        assert level.reserved == NOT_DUE_PER_SKU


@pytest.mark.parametrize("batch_size", [500, 16], ids=["one-batch", "many-batches"])
def test_expiry_run_in_parallel_releases_each_hold_once(due_holds: int, batch_size: int) -> None:
    runs = 4

    def work(_: int) -> int:
        return services.reservations_expire(batch_size=batch_size)

    expired = run_together(work, threads=runs)

    assert sum(expired) == due_holds
    assert_each_due_hold_expired_once(due_holds)


# --------------------------------------------------------------------------- a real worker


def stop(worker: subprocess.Popen[bytes]) -> None:
    """Warm shutdown for the worker and its pool, then SIGKILL for anything still alive."""
    for sig, grace in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(worker.pid, sig)
        except ProcessLookupError:
            break
        try:
            worker.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue
    # The pool's children share the process group; make sure none outlives the test.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)


@pytest.fixture
def celery_worker(transactional_db: object, tmp_path: Path) -> Iterator[str]:
    """A real ``celery worker`` process (prefork, two children) on the test database and
    Redis db 15. Yields its node name; always killed, with its pool, at the end."""
    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL (a real broker); run `make test-integration`")
    base_dir = Path(settings.BASE_DIR)
    node = f"omni-test-{os.getpid()}@localhost"
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL}
    celery_app.control.purge()  # nothing left over from an earlier run may run against us
    log_path = tmp_path / "celery-worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("celery")),
                "-A",
                "omni",
                "worker",
                "--concurrency=2",
                "-P",
                "prefork",
                "--loglevel=warning",
                "--without-gossip",
                "--without-mingle",
                "-Q",
                celery_app.conf.task_default_queue,  # this test process's own under xdist
                "-n",
                node,
            ],
            cwd=base_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so the pool dies with it
        )

    def log_text() -> str:
        return log_path.read_text(errors="replace")[-4000:]

    try:
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(destination=[node], timeout=1.0):
            if worker.poll() is not None:
                pytest.fail(f"celery worker exited with {worker.returncode}:\n{log_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"celery worker did not answer a ping in 60 s:\n{log_text()}")
        # Warm both pool processes (Django connections, imports) so the test's two tasks
        # start together rather than behind a cold start. Nothing is due yet.
        warm = [reservations_expire_task.delay() for _ in range(2)]
        assert [w.get(timeout=60) for w in warm] == [0, 0]
        yield node
    finally:
        stop(worker)


def test_expiry_task_sent_twice_at_once_to_a_real_worker(
    celery_worker: str, due_holds: int
) -> None:
    first = reservations_expire_task.delay()
    second = reservations_expire_task.delay()

    expired = [first.get(timeout=120), second.get(timeout=120)]

    assert sum(expired) == due_holds
    assert_each_due_hold_expired_once(due_holds)
