from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings

from .services import (
    NotificationNotSent,
    notification_send,
    notifications_pending,
    pickups_expire_no_shows,
)

logger = logging.getLogger(__name__)


@shared_task
def pickups_expire_no_shows_task() -> int:
    """Pickups not collected in time go back to stock. Safe to run twice at once."""
    return pickups_expire_no_shows()


# Idempotent (notification_send sends each message once), so acknowledged only when done: a
# worker that dies mid-send gives the message back.
@shared_task(bind=True, acks_late=True, max_retries=None)
def notification_send_task(self: Any, notification_id: int) -> bool:
    """Send one customer message, retried with a doubling wait while the backend fails."""
    try:
        return notification_send(notification_id=notification_id)
    except NotificationNotSent as exc:
        attempt = self.request.retries + 1
        if self.request.is_eager or attempt >= settings.OMNI_NOTIFY_MAX_ATTEMPTS:
            # Inside the web process (no broker) nobody waits for a retry; past the last one
            # it is left to notifications_send_pending_task. Either way it stays in the outbox.
            logger.warning("notification %s not sent (try %s): %s", notification_id, attempt, exc)
            return False
        wait = min(settings.OMNI_NOTIFY_RETRY_SECONDS * 2 ** (attempt - 1), 3600)
        logger.warning(
            "notification %s not sent (try %s), again in %ss: %s",
            notification_id,
            attempt,
            wait,
            exc,
        )
        raise self.retry(exc=exc, countdown=wait) from exc


@shared_task
def notifications_send_pending_task() -> int:
    """Queue again every message a failed send or a lost task left unsent."""
    pending = notifications_pending()
    for notification_id in pending:
        notification_send_task.delay(notification_id)
    return len(pending)
