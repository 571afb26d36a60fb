"""Celery tasks of forecasting: they take ids and call a service, nothing else."""

from __future__ import annotations

import os
import socket
from typing import Any

from celery import shared_task

from . import services


@shared_task(bind=True)
def forecast_run_task(self: Any, run_id: int) -> str:
    """Do a queued forecast run. Running it twice is harmless: only the first claims it."""
    worker = self.request.hostname or f"{socket.gethostname()}:{os.getpid()} (in process)"
    return str(services.forecast_run_execute(run_id=run_id, worker=worker).status)


@shared_task
def forecast_runs_tick_task() -> dict[str, int]:
    """Every minute (celery beat): fail runs whose worker died, start each city's daily run."""
    reaped = services.forecast_runs_reap()
    started = services.forecast_runs_daily()
    return {"reaped": reaped, "started": len(started)}
