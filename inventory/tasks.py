from __future__ import annotations

from celery import shared_task

from .services import reservations_expire


@shared_task
def reservations_expire_task() -> int:
    """Expire overdue holds. Safe to run twice at once (see ``reservations_expire``)."""
    return reservations_expire()
