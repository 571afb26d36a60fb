"""Customer messages leave through a Celery task after commit, once, and survive a mail server
that is down (tests/integration/test_operations.py retries through a real worker)."""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from fulfillment import services
from fulfillment.models import Notification
from fulfillment.tasks import notifications_send_pending_task
from inventory.models import Location, Product
from network.models import Channel
from orders.models import Order, OrderStatus
from tests.factories import PickupOrderFactory, ReceiptFactory

from .fixtures import pick_all


@pytest.fixture
def picked_pickup(web: Channel, store: Location, goods: tuple[Product, Product]) -> Order:
    ReceiptFactory.create(location=store, lines={"A": 3})
    order = PickupOrderFactory.create(
        channel=web, external_id="n1", store=store, lines={goods[0]: 1}
    )
    pick_all(services.pickup_prepare(order=order))
    return order


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_message_is_sent_by_the_task_after_commit(
    settings: Any, picked_pickup: Order, django_capture_on_commit_callbacks: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=False) as queued:
        services.pickup_mark_ready(order=picked_pickup)
    note = Notification.objects.get(order=picked_pickup)
    # Nothing went out inside the order's transaction: the task is queued for after commit.
    assert mail.outbox == [] and note.sent_at is None
    assert len(queued) == 1
    queued[0]()
    note.refresh_from_db()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == note.subject
    assert (note.attempts, note.last_error) == (1, "")
    assert note.sent_at is not None
    # Queued again (a redelivered message, a sweep): nothing is sent twice.
    assert services.notification_send(notification_id=note.pk) is False
    assert len(mail.outbox) == 1


def test_a_mail_server_that_is_down_fails_nothing_and_loses_nothing(
    settings: Any, picked_pickup: Order, django_capture_on_commit_callbacks: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port()
    with django_capture_on_commit_callbacks(execute=True):
        code = services.pickup_mark_ready(order=picked_pickup)
    # The order went on regardless.
    picked_pickup.refresh_from_db()
    assert picked_pickup.status == OrderStatus.READY_FOR_PICKUP and code.pk
    note = Notification.objects.get(order=picked_pickup)
    assert note.sent_at is None and note.attempts == 1
    assert note.last_error.startswith("ConnectionRefusedError")

    # Not yet due for the sweep (a task may still be retrying it), then due.
    assert services.notifications_pending() == []
    later = timezone.now() + timedelta(seconds=settings.OMNI_NOTIFY_RETRY_SECONDS + 60)
    assert services.notifications_pending(now=later) == [note.pk]
    Notification.objects.filter(pk=note.pk).update(
        created_at=timezone.now() - timedelta(hours=1),
        last_attempt_at=timezone.now() - timedelta(hours=1),
    )
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notifications_send_pending_task.delay().get() == 1
    note.refresh_from_db()
    assert note.sent_at is not None and note.attempts == 2 and note.last_error == ""
    assert len(mail.outbox) == 1
    assert notifications_send_pending_task.delay().get() == 0
    assert len(mail.outbox) == 1


def test_the_sweep_gives_up_after_the_last_attempt(settings: Any, picked_pickup: Order) -> None:
    services.pickup_mark_ready(order=picked_pickup)  # not committed here: nothing sent
    hour_ago = timezone.now() - timedelta(hours=1)
    Notification.objects.update(
        created_at=hour_ago, last_attempt_at=hour_ago, attempts=settings.OMNI_NOTIFY_MAX_ATTEMPTS
    )
    assert services.notifications_pending() == []
    Notification.objects.update(attempts=settings.OMNI_NOTIFY_MAX_ATTEMPTS - 1)
    assert len(services.notifications_pending()) == 1
