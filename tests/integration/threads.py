"""Run a function in many threads that start together, each on its own database connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

T = TypeVar("T")

# Long enough for a loaded 2-core machine, short enough that a hang fails the test.
JOIN_TIMEOUT = 120.0


def run_together(work: Callable[[int], T], *, threads: int) -> list[T]:
    """Call ``work(i)`` for i in 0..threads-1, each in its own thread, released at once by a
    barrier. Returns the results in thread order; re-raises the first exception a thread let
    escape. Each thread closes its connection, so the test database can be flushed and dropped."""
    barrier = threading.Barrier(threads)
    results: dict[int, T] = {}
    errors: dict[int, BaseException] = {}

    def target(i: int) -> None:
        try:
            barrier.wait(timeout=JOIN_TIMEOUT)
            results[i] = work(i)
        except BaseException as exc:
            errors[i] = exc
        finally:
            connection.close()

    pool = [threading.Thread(target=target, args=(i,), name=f"worker-{i}") for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(JOIN_TIMEOUT)
    alive = [t.name for t in pool if t.is_alive()]
    if alive:
        raise AssertionError(f"threads still running after {JOIN_TIMEOUT}s: {alive}")
    if errors:
        first = min(errors)
        raise AssertionError(
            f"{len(errors)} of {threads} threads raised; thread {first}: {errors[first]!r}"
        ) from errors[first]
    return [results[i] for i in range(threads)]
