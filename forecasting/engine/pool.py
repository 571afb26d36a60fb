"""The process pool a run's blocks of series are done in: forked workers that inherit the run's
series (so a block travels as an index range, not as pickled arrays) and die with the process
that started them; and each series' hygiene, worked out once per process."""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import multiprocessing
import os
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
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
_About = tuple[str, str, int, int]  # a task's step, label, series and order submitted
_Timed = tuple[int, float, float, float, Any]  # its process, start, end, CPU and result


@dataclass(frozen=True)
class TaskTiming:
    """A task of a run as it ran, or a step the run's own process took alone (the blend): what
    it was, in which process, when and for how much CPU. Times are ``time.monotonic()``, one
    clock for every process of the machine (Linux), so the pool's and the run's line up."""

    step: str  # "global fit", "global forecast", "validation", "forecast", "blend", ...
    label: str  # which one: "cut 84", "series 0-250", ...
    pid: int
    start: float
    end: float
    cpu: float
    series: int = 0  # series the task covers, where it covers some
    seq: int = 0  # the order the run submitted its tasks in


@dataclass
class Timeline:
    """Every task of a run and the run's own steps, for a look at how busy the cores were and
    at what another order would have made of the same tasks (``bench/forecast.py --timeline``).
    ``marks`` are the run's phases as its own process entered them: ``(phase, time, CPU
    seconds of that process so far)``."""

    processes: int
    pid: int = field(default_factory=os.getpid)
    tasks: list[TaskTiming] = field(default_factory=list)
    marks: list[tuple[str, float, float]] = field(default_factory=list)

    def mark(self, phase: str) -> None:
        self.marks.append((phase, time.monotonic(), time.process_time()))


class Workers:
    """A fork pool (or, with one process, this process) that sees the run's series.

    Tasks wait here, not in the pool's own queue (first in, first out), and the pool gets them
    in order of priority, each as a process frees up: a task submitted late (the global
    model's forecasts once its fit is in) can still go before others. The pool holds one task
    more than it has processes, so a process that finishes starts its next task at once, and
    the next is handed over from the pool's result thread, not from the run's own, which may
    be busy with the blend."""

    def __init__(self, series: Sequence[SeriesHistory], processes: int) -> None:
        self.series = series
        self.processes = processes
        self.token = next(_tokens)
        self.pool: Any = None
        # CPU seconds the pool's processes spent on this run's tasks (this process's own
        # are its own clock's: ``time.process_time``), and every task's by kind.
        self.cpu_seconds = 0.0
        self.task_seconds: dict[str, float] = defaultdict(float)
        self.timeline = Timeline(processes)
        self.done: queue.SimpleQueue[tuple[str, Any, TaskTiming, Any, BaseException | None]] = (
            queue.SimpleQueue()
        )
        self.pending = 0
        self._seq = itertools.count()
        self._waiting: list[tuple[int, int, str, Any, Callable[[Any], Any], Any, _About]] = []
        self._in_pool = 0
        self._lock = threading.Lock()
        self._closed = False

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
            with self._lock:  # no task handed over to a pool on its way out
                self._waiting.clear()
                self._closed = True
            self.pool.terminate()
            self.pool.join()
        RUN_SERIES.pop(self.token, None)
        _PREPARED.pop(self.token, None)

    def submit(
        self,
        kind: str,
        key: Any,
        function: Callable[[Any], Any],
        task: tuple[Any, ...],
        *,
        priority: int = 0,
        step: str = "",
        label: str = "",
        series: int = 0,
    ) -> None:
        """Queue ``function(task)``: it runs before every waiting task of a higher
        ``priority`` and after those of its own submitted before it (in this process, with one
        process: at once). Its result comes out of ``completed`` as ``(kind, key, result)``.
        ``kind`` names the part of the run it belongs to, for the CPU seconds of
        ``task_seconds``; ``step`` (default ``kind``), ``label`` and ``series`` describe it in
        the run's timeline."""
        tagged = (self.token, *task)
        seq = next(self._seq)
        about = (step or kind, label, series, seq)
        self.pending += 1
        if self.pool is None:
            timed = _timed((function, tagged))
            self.done.put((kind, key, _timing(about, timed), timed[-1], None))
            return
        with self._lock:
            heapq.heappush(self._waiting, (priority, seq, kind, key, function, tagged, about))
            self._hand_over()

    def _hand_over(self) -> None:
        """Waiting tasks to the pool, up to one more than it has processes (the lock held)."""
        while self._waiting and self._in_pool <= self.processes and not self._closed:
            _, _, kind, key, function, tagged, about = heapq.heappop(self._waiting)
            self._in_pool += 1
            self.pool.apply_async(
                _timed,
                ((function, tagged),),
                callback=functools.partial(self._finished, kind, key, about),
                error_callback=functools.partial(self._failed, kind, key),
            )

    def _finished(self, kind: str, key: Any, about: _About, timed: _Timed) -> None:
        """A task's result, in the pool's result thread: to ``completed``, and the pool's next."""
        self.done.put((kind, key, _timing(about, timed), timed[-1], None))
        with self._lock:
            self._in_pool -= 1
            self._hand_over()

    def _failed(self, kind: str, key: Any, error: BaseException) -> None:
        self.done.put((kind, key, _NO_TIMING, None, error))
        with self._lock:
            self._in_pool -= 1
            self._hand_over()

    def completed(self) -> Iterator[tuple[str, Any, Any]]:
        """``(kind, key, result)`` of every task submitted, as each finishes — tasks submitted
        while iterating included. A task's exception is raised here."""
        while self.pending:
            kind, key, timing, result, error = self.done.get()
            self.pending -= 1
            if error is not None:
                raise error
            if self.pool is not None:  # this process's own CPU is on its own clock
                self.cpu_seconds += timing.cpu
            self.task_seconds[kind] += timing.cpu
            self.timeline.tasks.append(timing)
            yield kind, key, result


def run_prepared(token: int, index: int, config: ForecastConfig) -> Prepared:
    """Series ``index`` of run ``token`` prepared for modelling, once per process and run."""
    known = _PREPARED.setdefault(token, {})
    prepared = known.get(index)
    if prepared is None:
        prepared = known[index] = prepare_series(RUN_SERIES[token][index], config)
    return prepared


def _timed(call: tuple[Callable[[Any], Any], Any]) -> _Timed:
    """A task in a pool process: the process, when it started and ended, the CPU seconds it
    took, its result."""
    function, task = call
    started, cpu = time.monotonic(), time.process_time()
    result = function(task)
    return os.getpid(), started, time.monotonic(), time.process_time() - cpu, result


def _timing(about: _About, timed: _Timed) -> TaskTiming:
    step, label, series, seq = about
    pid, start, end, cpu, _ = timed
    return TaskTiming(step, label, pid, start, end, cpu, series, seq)


_NO_TIMING = TaskTiming("", "", 0, 0.0, 0.0, 0.0)


def _die_with_parent() -> None:
    """A pool process ends with the process that started it, even one killed by SIGKILL (a
    lost worker), instead of lingering as an orphan (Linux; elsewhere a no-op)."""
    with contextlib.suppress(Exception):
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
