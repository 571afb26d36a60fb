"""Forecasting throughput: a forecast run end to end against the bare statsforecast and
mlforecast calls on the same models, and the time for 30,000 intermittent daily series.

Not a test: it prints figures and the ratio run/bare, measured in the same run on the same
series.

1. **Run vs bare** (``--series``, default 2,000 synthetic series of two years; and the 204 M5
   series when ``../shared/data/m5_subset`` is there). *Run*: the history is in the database
   (``DemandRecord``); timed from ``forecast_run_start`` to the run's succeeded row — reading
   the history, hygiene, rolling-origin backtest of every model, the choice per series, the
   forecast and quantiles, writing every series. *Bare*: what a statsforecast user would call
   for the same backtest and forecast on the same (prepared) series, with the same models,
   windows, fit window and processes: ``StatsForecast.cross_validation`` for the forward-
   capable models (``refit=False``, as the run), again for the others (``refit=True``), then
   ``StatsForecast.forecast``; and for the global model ``MLForecast.cross_validation``
   (``refit=False``) then ``fit`` and ``predict`` with the same features and LightGBM settings,
   on every row of the last year (the run fits at most 500,000) — no database, no blend, no
   quantiles.
2. **30,000 series** (``--big``; ``--big 0`` skips it): synthetic intermittent daily series of
   two years, horizon 28, the default models (the global model included), through the engine a
   run uses (``run_forecast``, one process per core) — the database part scales with rows
   written, measured in (1). Target: under 5 minutes on two cores. It prints the CPU seconds
   of the process and its pool too, per phase: on a machine shared with other work they are
   the honest figure (``--big 3000`` for a quick look; validation, blend and forecast grow
   with the series, the global model's fits do not). Then how busy the cores were (the run's
   timeline: every task's process, start, end and CPU; ``--timeline FILE`` writes it as CSV,
   ``--replay FILE`` reads one back instead of running) and a prediction, labelled as one, of
   the wall time on two idle cores of the same tasks in the order the engine now takes them
   and in the order it used to (first in, first out).
3. **Fan-out over Celery workers** (``--celery N``, off by default; PostgreSQL and Redis): N
   synthetic series imported for the bench city, then the same run done by one Celery worker
   and by two (each ``--concurrency 1``, one engine process), in chunks of N/8 series, on Redis
   db 9 (``BENCH_REDIS_URL``; the tests use 15). Timed from sending the run's task to its
   succeeded row; the throughput ratio two/one is the figure (2.0 on two idle cores).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/omni_bench_forecast python bench/forecast.py
    python bench/forecast.py --series 0 --big 0 --celery 4000     # the fan-out alone

``--series 0`` skips (1). The database is created (and migrated) if it does not exist; the
bench's own city and data are replaced on every run. The bench process runs its own runs
in-process whatever ``REDIS_URL`` says; only the workers of (3) use a broker.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import resource
import signal
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/omni_bench_forecast")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings.base")
# This process runs its runs in-process (sections 1 and 2); the workers of section 3 get the
# bench's broker in their own environment.
os.environ["REDIS_URL"] = ""
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")

from forecasting.engine import (  # noqa: E402
    MODELS,
    ForecastConfig,
    History,
    SeriesHistory,
    run_forecast,
)
from forecasting.engine.hygiene import prepare  # noqa: E402

AS_OF = date(2025, 12, 31)
DAYS = 730
HORIZON = 28
STORES = 10
BENCH_CITY = "bench-forecast"


def synthetic(n: int, *, days: int = DAYS, seed: int = 0) -> History:
    """Intermittent daily demand like a store's long tail: most items sell on a few days a
    week, a weekly rhythm, some items fading out or taking off, occasional bulk days."""
    rng = np.random.default_rng(seed)
    start = AS_OF - timedelta(days=days - 1)
    weekday = np.array([(start + timedelta(days=i)).weekday() for i in range(days)])
    t = np.arange(days) / days
    series = []
    for i in range(n):
        rhythm = 1 + rng.uniform(0, 0.6) * np.sin(2 * np.pi * (weekday + rng.uniform(0, 7)) / 7)
        trend = np.exp(rng.normal(0, 0.8) * (t - 0.5))
        chance = np.clip(rng.uniform(0.03, 0.7) * rhythm * trend, 0, 1)
        size = 1 + rng.negative_binomial(1, 1 / (1 + rng.gamma(1.2, 1.5)), days)
        values = ((rng.random(days) < chance) * size).astype(float)
        if rng.random() < 0.05:
            values[rng.integers(days)] += rng.integers(20, 200)  # a bulk sale
        series.append(SeriesHistory(f"B-{i:05d}", f"BS{i % STORES:02d}", start, values))
    return History(series=series, as_of=AS_OF)


# --------------------------------------------------------------------------- bare statsforecast


def bare(history: History, config: ForecastConfig) -> tuple[float, float]:
    """Seconds for the bare statsforecast calls (all of them; the backtest alone)."""
    import pandas as pd
    from statsforecast import StatsForecast

    arrays = []
    for s in history.series:
        values = prepare(s, outlier_k=config.outlier_k, outlier_min_sales=config.outlier_min_sales)
        arrays.append(values.values)
    keep = config.backtest_days
    arrays = [a for a in arrays if a.size >= keep]  # the series a run backtests
    frame = pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(len(arrays)), [a.size for a in arrays]),
            "ds": np.concatenate([np.arange(a.size) for a in arrays]),
            "y": np.concatenate(arrays),
        }
    )
    recent = frame.groupby("unique_id").tail(config.fit_window or len(frame))
    specs = [MODELS[name] for name in config.models if not MODELS[name].is_global]
    rolled = [s.model(config.season_length) for s in specs if s.forward]
    refitted = [s.model(config.season_length) for s in specs if not s.forward]
    jobs = config.process_count()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        for models, refit in ((rolled, False), (refitted, True)):
            if models:
                StatsForecast(models=models, freq=1, n_jobs=jobs).cross_validation(
                    df=frame,
                    h=config.horizon,
                    n_windows=config.windows,
                    step_size=config.horizon,
                    input_size=config.fit_window,
                    refit=refit,
                )
        backtest = time.perf_counter() - started
        all_models = [s.model(config.season_length) for s in specs]
        StatsForecast(models=all_models, freq=1, n_jobs=jobs).forecast(df=recent, h=config.horizon)
        if any(MODELS[name].is_global for name in config.models):
            global_started = time.perf_counter()
            bare_global(frame, config, jobs)
            backtest += time.perf_counter() - global_started
        total = time.perf_counter() - started
    return total, backtest


def bare_global(frame: Any, config: ForecastConfig, jobs: int) -> None:
    """The global model as an mlforecast user would run it: the last year of every series
    with dates and ids, a backtest fitted once, then a fit and a forecast."""
    import pandas as pd

    from forecasting.engine.global_model import GlobalModelConfig, _forecaster

    days = GlobalModelConfig().train_days
    frame = frame.groupby("unique_id").tail(days).copy()
    frame["ds"] = pd.Timestamp(AS_OF) - pd.to_timedelta(
        frame.groupby("unique_id").cumcount(ascending=False), unit="D"
    )
    frame["sku"] = frame["unique_id"].astype("category")
    forecaster = _forecaster(GlobalModelConfig(), jobs)
    forecaster.cross_validation(
        df=frame,
        n_windows=config.windows,
        h=config.horizon,
        step_size=config.horizon,
        refit=False,
        static_features=["sku"],
    )
    forecaster.fit(frame, static_features=["sku"])
    forecaster.predict(h=config.horizon)


# --------------------------------------------------------------------------- through a run


def setup_database() -> None:
    import django
    from django.core.management import call_command

    url = os.environ["DATABASE_URL"]
    if url.startswith("postgres"):
        from bench.postgres import ensure_database

        ensure_database(url)
    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def load(history: History) -> Any:
    """The history as imported demand of the bench city (replacing the last bench's)."""
    from forecasting.models import DemandImport, DemandRecord, ForecastRun
    from inventory.models import Location, LocationKind, Product
    from omni.models import City

    city, _ = City.objects.get_or_create(
        code=BENCH_CITY, defaults={"name": "Bench", "latitude": 30, "longitude": 120}
    )
    ForecastRun.objects.filter(scope=BENCH_CITY).delete()
    DemandRecord.objects.filter(location__city=city).delete()
    locations = {}
    for code in sorted({s.location for s in history.series}):
        locations[code], _ = Location.objects.get_or_create(
            code=code, defaults={"name": code, "kind": LocationKind.STORE, "city": city}
        )
    skus = sorted({s.sku for s in history.series})
    existing = set(Product.objects.filter(sku__in=skus).values_list("sku", flat=True))
    Product.objects.bulk_create(
        [Product(sku=sku, name=sku) for sku in skus if sku not in existing], batch_size=2000
    )
    products = dict(Product.objects.filter(sku__in=skus).values_list("sku", "pk"))
    batch = DemandImport.objects.create(file_name="bench", rows=0)
    rows = []
    for s in history.series:
        for i in np.flatnonzero(s.values):
            rows.append(
                DemandRecord(
                    product_id=products[s.sku],
                    location_id=locations[s.location].pk,
                    day=s.start + timedelta(days=int(i)),
                    quantity=float(s.values[i]),
                    source=batch,
                )
            )
    DemandRecord.objects.bulk_create(rows, batch_size=10_000)
    return city


def through_run(history: History, config: ForecastConfig) -> tuple[float, Any]:
    from forecasting.models import RunStatus
    from forecasting.services import forecast_run_execute, forecast_run_start

    city = load(history)
    started = time.perf_counter()
    run = forecast_run_start(city=city, horizon=config.horizon, as_of=history.as_of, enqueue=False)
    run = forecast_run_execute(run_id=run.pk, worker="bench")
    seconds = time.perf_counter() - started
    if run.status != RunStatus.SUCCEEDED:
        raise SystemExit(f"the bench run {run.status}: {run.error}")
    return seconds, run


def compare(label: str, history: History, config: ForecastConfig) -> None:
    n = len(history.series)
    print(f"\n{label}: {n:,} series, horizon {config.horizon}, {config.process_count()} processes")
    print(f"  models: {', '.join(config.models)}")
    bare_total, bare_backtest = bare(history, config)
    run_seconds, run = through_run(history, config)
    print(
        f"  bare library calls       {bare_total:8.1f} s  {n / bare_total:8.1f} series/s"
        f"   (cross_validation alone {bare_backtest:.1f} s)"
    )
    print(f"  forecast run, end to end {run_seconds:8.1f} s  {n / run_seconds:8.1f} series/s")
    print(
        f"  ratio run / bare         {run_seconds / bare_total:8.2f}   (target <= 1.3; "
        f"against the bare backtest alone {run_seconds / bare_backtest:.2f})"
    )
    improvement = run.summary.get("improvement_pct")
    if improvement is not None:
        print(f"  (validation: blend {improvement:+.1f}% RMSSE vs seasonal naive)")


def big(n: int, timeline_file: Path | None = None) -> None:
    import logging

    # One INFO line per capped outlier day is the run's log, not the bench's output.
    logging.getLogger("forecasting.engine.run").setLevel(logging.WARNING)
    # As a forecast run configures it: window totals calibrated for every window to the horizon.
    config = ForecastConfig(horizon=HORIZON, window_days=tuple(range(1, HORIZON + 1)))
    history = synthetic(n, seed=30)
    print(
        f"\n{n:,} synthetic intermittent series, {DAYS} days, horizon {HORIZON}, "
        f"{config.process_count()} processes, default models: {', '.join(config.models)}"
    )
    started = time.perf_counter()
    last = [started]

    def progress(share: float, message: str) -> None:
        if time.perf_counter() - last[0] > 60:
            last[0] = time.perf_counter()
            print(f"  {time.perf_counter() - started:6.0f} s  {share:5.1%}  {message}", flush=True)

    cpu_before, machine_before = cpu_seconds(), machine_cpu()
    result = run_forecast(history, config, progress=progress, keep=False)
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_before
    machine = [after - before for after, before in zip(machine_cpu(), machine_before, strict=True)]
    summary = result.summary
    print(
        f"  {seconds:.0f} s ({seconds / 60:.1f} min), {n / seconds:.1f} series/s; "
        f"{summary.backtested:,} backtested, {summary.short_history:,} short, "
        f"{summary.idle:,} idle; blend {summary.improvement or 0:+.1f}% RMSSE vs seasonal "
        f"naive (target: within 5 min)"
    )
    # Wall time depends on what else the machine does; CPU seconds do not (much): a run that
    # needs under 2 × 300 s of CPU fits 5 minutes on two idle cores.
    phases = ", ".join(f"{name} {value:.0f}" for name, value in result.cpu_seconds.items())
    print(
        f"  CPU {cpu:.0f} s ({cpu / n * 1000:.1f} ms a series; {cpu / n * 30_000 / 2:.0f} s a "
        f"30,000-series run on 2 idle cores): {phases}"
    )
    if machine:
        # Was the machine idle? What every process of it used meanwhile, less this run's.
        print(
            f"  the rest of the machine meanwhile: {max(machine[0] - cpu, 0.0):.0f} CPU s "
            f"(of {(os.cpu_count() or 1) * seconds:.0f}); stolen by the hypervisor "
            f"{machine[1]:.0f} s"
        )
    if result.timeline is not None:
        busy_report(result.timeline, os.cpu_count() or 1)
        predict(result.timeline)
        if timeline_file is not None:
            write_timeline(result.timeline, timeline_file)
            print(f"  timeline of every task: {timeline_file}")


# --------------------------------------------------------------------------- the run's timeline

# The pool's steps, as the engine names them (``TaskTiming.step``).
FIT, GLOBAL_FORECAST, VALIDATION, FORECAST = (
    "global fit",
    "global forecast",
    "validation",
    "forecast",
)


def write_timeline(timeline: Any, path: Path) -> None:
    """Every task of the run as CSV: step, label, process (0 the run's own, 1… the pool's),
    start and end (seconds from the run's start), wall and CPU seconds, series, order
    submitted; then the run's phases as its own process entered them."""
    import csv

    origin = timeline.marks[0][1]
    number = {timeline.pid: 0}
    for task in sorted(timeline.tasks, key=lambda t: t.start):
        number.setdefault(task.pid, len(number))
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["step", "label", "process", "start", "end", "wall", "cpu", "series", "seq"]
        )
        for t in sorted(timeline.tasks, key=lambda t: (t.start, t.seq)):
            start, end = t.start - origin, t.end - origin
            wall, cpu = t.end - t.start, t.cpu
            row = [t.step, t.label, number[t.pid], start, end, wall, cpu, t.series, t.seq]
            writer.writerow([f"{x:.3f}" if isinstance(x, float) else x for x in row])
        for phase, at, until, own in phases_of(timeline):
            row = [f"phase: {phase}", "", 0, at - origin, until - origin, until - at, own, 0, ""]
            writer.writerow([f"{x:.3f}" if isinstance(x, float) else x for x in row])


def read_timeline(path: Path) -> Any:
    """A timeline written by ``write_timeline``, for another look (``--replay``)."""
    import csv

    from forecasting.engine.pool import TaskTiming, Timeline

    with path.open(newline="") as source:
        rows = list(csv.DictReader(source))
    tasks = [
        TaskTiming(
            r["step"],
            r["label"],
            int(r["process"]),
            float(r["start"]),
            float(r["end"]),
            float(r["cpu"]),
            int(r["series"]),
            int(r["seq"]),
        )
        for r in rows
        if not r["step"].startswith("phase: ")
    ]
    timeline = Timeline(processes=len({t.pid for t in tasks} - {0}), pid=0, tasks=tasks)
    cpu = 0.0
    for r in rows:
        if r["step"].startswith("phase: "):
            timeline.marks.append((r["step"].removeprefix("phase: "), float(r["start"]), cpu))
            cpu += float(r["cpu"])
            end = float(r["end"])
    timeline.marks.append(("end", end, cpu))
    return timeline


def phases_of(timeline: Any) -> list[tuple[str, float, float, float]]:
    """The run's phases: ``(name, start, end, CPU of the run's own process)``."""
    return [
        (phase, at, until, cpu_until - cpu)
        for (phase, at, cpu), (_, until, cpu_until) in zip(
            timeline.marks, timeline.marks[1:], strict=False
        )
    ]


def busy_report(timeline: Any, cores: int, *, live: bool = True) -> None:
    """How busy the cores were, and the idle core-seconds of each phase: ``cores`` × the
    phase's wall, less the CPU the run spent in it (its own process's, and each pool task's
    share by the part of its wall inside the phase). On a machine shared with other work,
    "idle" includes what the others took."""
    phases = phases_of(timeline)
    pool = [t for t in timeline.tasks if t.pid != timeline.pid]
    wall = phases[-1][2] - phases[0][1]
    total = sum(cpu for *_, cpu in phases) + sum(t.cpu for t in pool)
    load = f", load average now {os.getloadavg()[0]:.1f}" if live else ""
    print(
        f"  timeline: cores busy {total / (cores * wall):.0%} of wall ({total:.0f} CPU s in "
        f"{wall:.0f} s on {cores} cores{load})"
    )
    parts = []
    for name, start, end, own in phases:
        used = own
        for t in pool:
            inside = min(t.end, end) - max(t.start, start)
            if inside > 0:
                used += t.cpu * inside / max(t.end - t.start, 1e-9)
        parts.append(f"{name} {end - start:.0f} s wall, {cores * (end - start) - used:.0f} idle")
    print(f"  idle core-seconds by phase: {'; '.join(parts)}")
    # Where they went: a pool process with no task (waiting for one, or for the run's own
    # process), or a task that took more wall than CPU (the process ready but not running: other
    # work on the machine, a hypervisor's steal; or waiting, e.g. on memory). On two idle cores
    # the second should be near 1.0.
    run_start, run_end = phases[0][1], phases[-1][2]
    without = sum(
        (run_end - run_start) - sum(t.end - t.start for t in pool if t.pid == pid)
        for pid in {t.pid for t in pool}
    )
    steps = sorted(
        {t.step for t in pool}, key=lambda step: min(t.seq for t in pool if t.step == step)
    )
    ratios = []
    for step in steps:
        mine = [t for t in pool if t.step == step]
        cpu = sum(t.cpu for t in mine)
        if cpu >= 1.0:  # too little to say
            ratios.append(f"{step} {sum(t.end - t.start for t in mine) / cpu:.2f}")
    print(
        f"  pool processes without a task: {without:.0f} s; tasks' wall / CPU: {', '.join(ratios)}"
    )
    # Each pool process's work, runs of one step merged: the order the tasks ran in.
    origin = phases[0][1]
    for number, pid in enumerate(
        sorted({t.pid for t in pool}, key=lambda p: min(t.start for t in pool if t.pid == p)), 1
    ):
        runs: list[list[Any]] = []
        for t in sorted((t for t in pool if t.pid == pid), key=lambda t: t.start):
            if runs and runs[-1][0] == t.step:
                runs[-1][2], runs[-1][3] = t.end, runs[-1][3] + 1
            else:
                runs.append([t.step, t.start, t.end, 1])
        print(
            f"  process {number}: "
            + ", ".join(f"{step} ×{n} {a - origin:.0f}–{b - origin:.0f}" for step, a, b, n in runs)
        )


# The orders the simulation knows: how the pool picks among the tasks it has been given, and
# what the blend (the run's own process) waits for. "fifo", as the engine did before: the order
# submitted, the global model's forecasts queued behind every validation block when their fit
# arrives, the blend after every task. The others rank the tasks by kind (lowest first) and
# choose the blend beside the global model's forecasts from as_of (``final``), finishing each
# block of final forecasts once those of its series are in: "priority" is the engine's order
# now (``run.Priority``); the last one puts those forecasts before the final fits.
FINAL = "global final"
POLICIES: dict[str, dict[str, int] | None] = {
    "fifo": None,
    "priority": {FIT: 0, GLOBAL_FORECAST: 1, VALIDATION: 2, FORECAST: 3, FINAL: 4},
    "priority, as_of first": {FIT: 0, GLOBAL_FORECAST: 1, VALIDATION: 2, FINAL: 3, FORECAST: 4},
}


@dataclass
class Job:
    name: str
    cpu: float
    needs: set[str]
    rank: tuple[float, ...] = ()
    parent: bool = False  # the run's own process (one at a time, in order of readiness)


def jobs_of(timeline: Any, ranks: dict[str, int] | None) -> list[Job]:
    """The run's tasks as a dependency graph: the pool's recorded tasks with their CPU
    seconds, and the run's own work (its start, the handling of each result, the blend, the
    window calibration, the finishing of each forecast block) spread as its phases used CPU.
    ``ranks``: a policy of ``POLICIES``."""
    own = {name: cpu for name, _, _, cpu in phases_of(timeline)}
    pool = sorted((t for t in timeline.tasks if t.pid != timeline.pid), key=lambda t: t.seq)
    if not pool:  # one process: nothing to schedule
        return []

    def kind(t: Any) -> str:
        return FINAL if t.step == GLOBAL_FORECAST and t.label.split()[1] == "0" else t.step

    def fit_of(label: str) -> str:
        cuts = [int(c) for c in label.split()[1].split(",")]
        return f"{FIT} cut {0 if cuts == [0] else max(cuts)}"

    def span(t: Any) -> tuple[float, float]:
        lo, hi = t.label.split()[-1].split("-")
        return float(lo), float(hi)

    jobs = [Job("start", own.get("start", 0.0), set(), parent=True)]
    first = [t for t in pool if t.step != FORECAST]
    last = [t for t in pool if t.step == FORECAST]
    handle = own.get("validation", 0.0) / max(len(first), 1)
    for t in first:
        name = f"{t.step} {t.label}"
        needs = {"start"} | ({fit_of(t.label)} if t.step == GLOBAL_FORECAST else set())
        jobs.append(Job(name, t.cpu, needs, ((ranks or {}).get(kind(t), 0), t.seq)))
        jobs.append(Job(f"handle {name}", handle, {name}, parent=True))
    blend_needs = {f"handle {t.step} {t.label}" for t in first if ranks is None or kind(t) != FINAL}
    jobs.append(Job("blend", own.get("blend", 0.0), blend_needs, parent=True))
    jobs.append(Job("calibration", own.get("window calibration", 0.0), {"blend"}, parent=True))
    finish = own.get("forecast", 0.0) / max(len(last), 1)
    finals = [t for t in first if kind(t) == FINAL]
    # Validated series against all of them: where a block's series stand among the rows the
    # global model forecasts (nearly all of the bench's series are validated).
    share = sum(t.series for t in finals) / max(sum(t.series for t in last), 1)
    for t in last:
        name = f"{t.step} {t.label}"
        jobs.append(Job(name, t.cpu, {"calibration"}, ((ranks or {}).get(FORECAST, 0), t.seq)))
        lo, hi = span(t)
        needs = {name}
        if ranks is not None:
            needs |= {
                f"{f.step} {f.label}"
                for f in finals
                if span(f)[0] < hi * share and span(f)[1] > lo * share
            }
        jobs.append(Job(f"finish {name}", finish, needs, parent=True))
    return jobs


def simulate(jobs: list[Job], workers: int, cores: int, *, fifo: bool) -> float:
    """Wall seconds of ``jobs`` on ``workers`` pool processes and the run's own process,
    ``cores`` idle cores shared evenly among whichever of them have work (a prediction: every
    job takes the CPU seconds it was measured at). The pool takes the ready task of the lowest
    rank, or with ``fifo`` the one queued first (ties: the order the run submitted them)."""
    ready_at: dict[str, float] = {}
    done: set[str] = set()
    waiting = list(jobs)
    running: dict[int, tuple[Job, float]] = {}  # lane (-1 the run's own) -> job, CPU left
    now = 0.0

    def rank(job: Job) -> tuple[float, ...]:
        return (ready_at[job.name], job.rank[-1]) if fifo else job.rank

    while waiting or running:
        for job in waiting:
            if job.name not in ready_at and job.needs <= done:
                ready_at[job.name] = now
        ready = [j for j in waiting if j.name in ready_at]
        if -1 not in running:
            mine = [j for j in ready if j.parent]
            if mine:
                job = min(mine, key=lambda j: ready_at[j.name])
                running[-1] = (job, job.cpu)
                waiting.remove(job)
        for lane in range(workers):
            if lane not in running:
                theirs = [j for j in waiting if j.name in ready_at and not j.parent]
                if theirs:
                    job = min(theirs, key=rank)
                    running[lane] = (job, job.cpu)
                    waiting.remove(job)
        if not running:
            raise ValueError("a job waits for one that never comes")
        speed = min(1.0, cores / len(running))
        step = min(left for _, left in running.values()) / speed
        now += step
        for lane, (job, left) in list(running.items()):
            left -= step * speed
            if left <= 1e-9:
                done.add(job.name)
                del running[lane]
            else:
                running[lane] = (job, left)
    return now


def predict(timeline: Any, cores: int = 2) -> None:
    workers = timeline.processes
    pool = [t for t in timeline.tasks if t.pid != timeline.pid]
    if workers < 2 or not pool:
        return
    total = sum(t.cpu for t in pool) + sum(cpu for *_, cpu in phases_of(timeline))
    longest = max(pool, key=lambda t: t.cpu)
    print(
        f"  predicted on {cores} idle cores from these tasks' CPU seconds (not measured): "
        f"bound {total / cores:.0f} s (CPU / cores; longest task {longest.step} "
        f"{longest.cpu:.0f} s)"
    )
    for policy, ranks in POLICIES.items():
        wall = simulate(jobs_of(timeline, ranks), workers, cores, fifo=ranks is None)
        print(f"    {policy:22s} {wall:6.0f} s   cores busy {total / (cores * wall):.0%}")


def machine_cpu() -> list[float]:
    """CPU seconds every process of the machine has used since it started, and the time its
    virtual cores were kept waiting by the hypervisor (Linux's /proc/stat; elsewhere empty)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return []
    tick = os.sysconf("SC_CLK_TCK")
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return [(user + nice + system + irq + softirq) / tick, steal / tick]


def cpu_seconds() -> float:
    """User and system CPU of this process and of its children that have ended (the run's
    pool processes end with it)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# --------------------------------------------------------------------------- on Celery workers


def start_worker(name: str, *, chunk: int, log: Path) -> subprocess.Popen[bytes]:
    """A Celery worker of one process on the bench's broker and database, in its own process
    group; returns once it answers a ping."""
    from celery import Celery

    node = f"{name}-{os.getpid()}@localhost"
    env = {
        **os.environ,
        "REDIS_URL": BENCH_REDIS_URL,
        "OMNI_FORECAST_JOBS": "1",
        "OMNI_FORECAST_CHUNK_SERIES": str(chunk),
        "OMNI_LOG_LEVEL": "WARNING",
    }
    command = [str(Path(sys.executable).with_name("celery")), "-A", "omni", "worker"]
    command += ["--pool=prefork", "--concurrency=1", "--loglevel=warning"]
    command += ["--without-gossip", "--without-mingle", "-n", node]
    worker = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    app = Celery("bench", broker=BENCH_REDIS_URL)
    deadline = time.monotonic() + 60
    while not app.control.ping(destination=[node], timeout=1.0):
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"worker {name} did not start:\n{log.read_text()[-3000:]}")
    return worker


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)


def on_workers(city: Any, history: History, *, workers: int, chunk: int) -> tuple[float, Any]:
    """Seconds from sending a run's task to its succeeded row, on ``workers`` fresh workers."""
    from celery import Celery

    from forecasting.models import RunStatus
    from forecasting.services import forecast_run_start

    app = Celery("bench", broker=BENCH_REDIS_URL)
    app.control.purge()
    logs = ROOT / "var"
    logs.mkdir(exist_ok=True)
    started_workers = []
    try:
        for n in range(workers):
            log = logs / f"bench-forecast-worker-{n}.log"
            started_workers.append(start_worker(f"bench-forecast-{n}", chunk=chunk, log=log))
        run = forecast_run_start(city=city, horizon=HORIZON, as_of=history.as_of, enqueue=False)
        started = time.perf_counter()
        app.send_task("forecasting.tasks.forecast_run_task", args=(run.pk,))
        while run.is_active:
            time.sleep(0.2)
            run.refresh_from_db()
        seconds = time.perf_counter() - started
    finally:
        stop_workers(started_workers)
    if run.status != RunStatus.SUCCEEDED:
        raise SystemExit(f"the bench run {run.status}: {run.error}")
    return seconds, run


def fan_out(n: int) -> None:
    if not os.environ["DATABASE_URL"].startswith("postgres"):
        raise SystemExit("--celery needs PostgreSQL (DATABASE_URL) and Redis (BENCH_REDIS_URL)")
    history = synthetic(n, seed=40)
    city = load(history)
    chunk = math.ceil(n / 8)
    chunks = math.ceil(n / chunk)
    load_now = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\nCelery fan-out: {n:,} synthetic series, horizon {HORIZON}, default models, "
        f"{chunks} chunks of {chunk:,}; workers of 1 process on {BENCH_REDIS_URL}"
        f"\n  ({os.cpu_count()} cores, load average {load_now} before the first run)"
    )
    one, run = on_workers(city, history, workers=1, chunk=chunk)
    print(f"  one worker          {one:8.1f} s  {n / one:8.1f} series/s")
    two, run = on_workers(city, history, workers=2, chunk=chunk)
    shares = sorted(run.chunks.values_list("worker", flat=True))
    per_worker = {w.split("@")[0]: shares.count(w) for w in set(shares)}
    print(f"  two workers         {two:8.1f} s  {n / two:8.1f} series/s   chunks {per_worker}")
    print(f"  throughput two / one {one / two:7.2f}   (2.0 on two idle cores)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--series", type=int, default=2000, help="synthetic series for run/bare (0: skip)"
    )
    parser.add_argument("--big", type=int, default=30_000, help="series of the big run (0: skip)")
    parser.add_argument(
        "--celery", type=int, default=0, help="series of the fan-out on Celery workers (0: skip)"
    )
    parser.add_argument(
        "--timeline", type=Path, help="CSV of every task of the big run (where, when, CPU)"
    )
    parser.add_argument(
        "--replay",
        type=Path,
        help="no run: how busy the cores were and the predictions, from a --timeline CSV",
    )
    args = parser.parse_args()
    if args.replay:
        timeline = read_timeline(args.replay)
        print(f"timeline {args.replay}: {len(timeline.tasks)} tasks")
        busy_report(timeline, os.cpu_count() or 1, live=False)
        predict(timeline)
        return
    setup_database()
    config = ForecastConfig(horizon=HORIZON)
    if args.series:
        # Warm up (imports, first calls) so neither side pays them.
        bare(synthetic(20, seed=99), config)
        compare("synthetic, two years", synthetic(args.series, seed=1), config)
        from forecasting.evaluate_m5 import M5_FILE, load_m5

        if M5_FILE.exists():
            compare("M5 subset (real store demand)", load_m5(M5_FILE), config)
    if args.big:
        big(args.big, args.timeline)
    if args.celery:
        fan_out(args.celery)


if __name__ == "__main__":
    main()
