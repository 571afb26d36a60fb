"""Purchasing's Celery jobs: the daily replenishment proposal of each city (celery beat ticks
every few minutes; a city's run is made once per local day) and one task per run."""

from __future__ import annotations

from functools import partial

from celery import shared_task
from django.db import transaction

from purchasing.proposal_models import ReplenishmentRun
from purchasing.proposals import services


@shared_task
def replenishment_run_task(run_id: int) -> str:
    """Build one proposal run's lines (idempotent: a run that is not queued is left alone)."""
    run = ReplenishmentRun.objects.select_related("city").get(pk=run_id)
    return str(services.replenishment_run_execute(run=run).status)


@shared_task
def replenishment_runs_daily_task() -> int:
    """Create today's run of every city that has none yet and queue it."""
    runs = services.replenishment_runs_daily()
    for run in runs:
        transaction.on_commit(partial(replenishment_run_task.delay, run.pk))
    return len(runs)
