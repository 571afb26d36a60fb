"""The process pool a run's blocks of series are done in: forked workers that inherit the run's
series (so a block travels as an index range, not as pickled arrays) and die with the process
that started them; and each series' hygiene, worked out once per process."""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import queue
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .config import ForecastConfig
from .history import SeriesHistory
from .hygiene import Prepared
from .inputs import prepare_series

# Series of the runs in progress in this process, by run token: forked workers inherit them,
# so blocks travel to the workers as index ranges instead of pickled arrays.
RUN_SERIES: dict[int, Sequence[SeriesHistory]] = {}
# Their hygienic versions, by run token and index, as far as this process has needed them: the
# global model's fits and forecasts, the validation and the final fits all read a series, and
# its hygiene (the outlier bar's medians) would otherwise be worked out six times. Cheap to keep:
# a series without capped days is prepared as a view of its own values.
_PREPARED: dict[int, dict[int, Prepared]] = {}
_tokens = itertools.count(1)


class Workers:
    """A fork pool (or, with one process, this process) that sees the run's series."""

    def __init__(self, series: Sequence[SeriesHistory], processes: int) -> None:
        self.series = series
        self.processes = processes
        self.token = next(_tokens)
        self.pool: Any = None
        # CPU seconds the pool's processes spent on this run's tasks (this process's own
        # are its own clock's: ``time.process_time``), and every task's by kind.
        self.cpu_seconds = 0.0
        self.task_seconds: dict[str, float] = defaultdict(float)
        self.done: queue.SimpleQueue[tuple[str, Any, float, Any, BaseException | None]] = (
            queue.SimpleQueue()
        )
        self.pending = 0

    def __enter__(self) -> Workers:
        RUN_SERIES[self.token] = self.series
        if self.processes > 1:
            # fork: the children inherit the loaded libraries (statsforecast is slow to
            # import) and the series; they only compute, never touching the parent's database
            # connections.
            self.pool = multiprocessing.get_context("fork").Pool(
                self.processes, initializer=_die_with_parent
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
        RUN_SERIES.pop(self.token, None)
        _PREPARED.pop(self.token, None)

    def submit(
        self, kind: str, key: Any, function: Callable[[Any], Any], task: tuple[Any, ...]
    ) -> None:
        """Queue ``function(task)`` behind the tasks queued before it; its result comes out of
        ``completed`` as ``(kind, key, result)``. ``kind`` names the part of the run it belongs
        to, for the CPU seconds of ``task_seconds``."""
        tagged = (self.token, *task)
        self.pending += 1
        if self.pool is None:
            started = time.process_time()
            result = function(tagged)
            self.task_seconds[kind] += time.process_time() - started
            self.done.put((kind, key, 0.0, result, None))
            return
        self.pool.apply_async(
            _timed,
            ((function, tagged),),
            callback=lambda timed: self.done.put((kind, key, timed[0], timed[1], None)),
            error_callback=lambda error: self.done.put((kind, key, 0.0, None, error)),
        )

    def completed(self) -> Iterator[tuple[str, Any, Any]]:
        """``(kind, key, result)`` of every task submitted, as each finishes — tasks submitted
        while iterating included. A task's exception is raised here."""
        while self.pending:
            kind, key, seconds, result, error = self.done.get()
            self.pending -= 1
            if error is not None:
                raise error
            self.cpu_seconds += seconds
            self.task_seconds[kind] += seconds
            yield kind, key, result


def run_prepared(token: int, index: int, config: ForecastConfig) -> Prepared:
    """Series ``index`` of run ``token`` prepared for modelling, once per process and run."""
    known = _PREPARED.setdefault(token, {})
    prepared = known.get(index)
    if prepared is None:
        prepared = known[index] = prepare_series(RUN_SERIES[token][index], config)
    return prepared


def _timed(call: tuple[Callable[[Any], Any], Any]) -> tuple[float, Any]:
    """A task in a pool process, with the CPU seconds it took there."""
    function, task = call
    started = time.process_time()
    result = function(task)
    return time.process_time() - started, result


def _die_with_parent() -> None:
    """A pool process ends with the process that started it, even one killed by SIGKILL (a
    lost worker), instead of lingering as an orphan (Linux; elsewhere a no-op)."""
    with contextlib.suppress(Exception):
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
