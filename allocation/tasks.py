"""Allocation runs as Celery jobs: one task per run (several cities run as parallel tasks)."""

from __future__ import annotations

from celery import shared_task

from allocation import services
from allocation.models import AllocationRun


# The name it had when allocation lived in inventory: runs already queued survive an upgrade.
@shared_task(name="inventory.allocation_run_task")
def allocation_run_task(run_id: int) -> str:
    """Solve one run; progress is written on the run row as it goes."""
    run = AllocationRun.objects.get(pk=run_id)
    run = services.allocation_run_execute(run=run)
    return str(run.status)
