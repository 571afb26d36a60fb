"""Celery tasks of forecasting: they take ids and call a service, nothing else."""

from __future__ import annotations

import os
import socket
from typing import Any

from celery import shared_task

from . import services


def _worker(task: Any) -> str:
    return task.request.hostname or f"{socket.gethostname()}:{os.getpid()} (in process)"


@shared_task(bind=True)
def forecast_run_task(self: Any, run_id: int) -> str:
    """Start a queued forecast run: split it into chunks and send them to the workers. Running
    it twice is harmless: only the first claims it."""
    return str(services.forecast_run_execute(run_id=run_id, worker=_worker(self)).status)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def forecast_chunk_task(self: Any, run_id: int, number: int) -> str:
    """Do one chunk of a running forecast run. Acknowledged once done, so a worker lost mid-way
    leaves its message to be delivered again; a chunk is taken once (a second delivery of a
    chunk done or in live hands does nothing), so a redelivery is harmless."""
    chunk = services.forecast_chunk_execute(run_id=run_id, number=number, worker=_worker(self))
    return str(chunk.status) if chunk is not None else "unknown chunk"


@shared_task
def forecast_runs_tick_task() -> dict[str, int]:
    """Every minute (celery beat): send again the chunks whose worker died (fail runs that
    cannot go on), start each city's daily run."""
    reaped = services.forecast_runs_reap()
    started = services.forecast_runs_daily()
    return {"reaped": reaped, "started": len(started)}
