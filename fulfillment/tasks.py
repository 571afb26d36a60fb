from __future__ import annotations

from celery import shared_task

from .services import pickups_expire_no_shows


@shared_task
def pickups_expire_no_shows_task() -> int:
    """Pickups not collected in time go back to stock. Safe to run twice at once."""
    return pickups_expire_no_shows()
