"""Writes of fulfillment: waves and picking, packing and shipping, store pickup with signed
codes, no-shows, and returns.

Locking follows the one lock order (docs/locking.md; ``fulfillment.locks``): an order first
(``orders.locks``), then its pick list, package or pickup code, then a transfer, then stock
levels, then reservations. A short pick changes stock only; the order is re-sourced after
commit (``orders.tasks.order_lines_resource_task``), never under the stock locks.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy

from inventory import locks as stock_locks
from inventory import services as stock
from inventory.errors import NoLines
from inventory.models import (
    Location,
    MoveReason,
    Product,
    Reservation,
    ReservationStatus,
)
from omni.errors import InvalidInput
from omni.models import User
from orders.locks import lock_order
from orders.models import Allocation, Order, OrderLine, OrderMode, OrderStatus
from orders.services import OWNER_TYPE, order_set_status

# Store pickup lives in its own module (``fulfillment.pickups``); its names are part of this
# module's interface, re-exported.
from . import pickups
from .errors import NotFullyPicked, NotPicked, NotReturnable, PackageInvalidState
from .locks import lock_package
from .models import (
    Notification,
    Package,
    PackageLine,
    PackageStatus,
    PickLine,
    Return,
    ReturnDisposition,
    ReturnLine,
)
from .picking import (  # noqa: F401 -- the services of picking, re-exported
    DEFAULT_WAVE_LIMITS,
    WAVE_MODES,
    WORKED_ON_STATUSES,
    ScanOutcome,
    WaveCandidate,
    WaveLimits,
    WavePlan,
    pick_line_confirm,
    pick_line_short,
    pick_list_scan,
    pick_task_scan,
    pick_task_short,
    pick_wave_create,
    pick_wave_plan,
    scan_matches,
)
from .selectors import order_pick_progress

logger = logging.getLogger(__name__)

# Store pickup lives in ``fulfillment.pickups``; its writes are part of this module's interface.
SHORT_CODE_LIMIT_GROUP = pickups.SHORT_CODE_LIMIT_GROUP
pickup_mark_ready = pickups.pickup_mark_ready
pickup_prepare = pickups.pickup_prepare
pickup_redeem = pickups.pickup_redeem
pickup_redeem_short_code = pickups.pickup_redeem_short_code
pickup_short_code = pickups.pickup_short_code
pickup_token = pickups.pickup_token
pickups_expire_no_shows = pickups.pickups_expire_no_shows
public_key = pickups.public_key
signing_key = pickups.signing_key
_payload = pickups._payload  # what a token carries; the tests forge and alter it


# --------------------------------------------------------------------------- pack and ship


def _picked_unpacked(order: Order, location: Location) -> dict[int, int]:
    """Allocation id -> units picked at ``location`` and not yet in a package."""
    return dict(
        PickLine.objects.filter(
            allocation__line__order=order,
            pick_list__location=location,
            picked__gt=F("packed"),
        ).values_list("allocation_id", F("picked") - F("packed"))
    )


@dataclass(frozen=True)
class PackLine:
    product: Product
    quantity: int


@transaction.atomic
def package_create(
    *,
    order: Order,
    location: Location,
    lines: Sequence[PackLine] | None = None,
    carrier: str = "",
    tracking_number: str = "",
    partial: bool = False,
    actor: User | None = None,
) -> Package:
    """Put picked units of a delivery order into a parcel (all picked units when ``lines``
    is not given), in one step. The order must be fully picked at ``location`` (every unit
    held there picked or recorded short) unless ``partial``: the packer ships what is picked
    now and the rest stays open (``NotFullyPicked``)."""
    order = lock_order(order.pk)
    if order.mode != OrderMode.DELIVERY:
        raise InvalidInput(gettext_lazy("only deliveries are packed; pickups are handed over"))
    if not partial:
        progress = order_pick_progress([order.pk], location).get(order.pk)
        if progress is not None and not progress.ready:
            raise NotFullyPicked(order, picked=progress.picked, wanted=progress.wanted)
    ready = _picked_unpacked(order, location)
    allocations = {
        a.pk: a for a in Allocation.objects.filter(pk__in=ready).select_related("line__product")
    }
    wanted: list[tuple[Allocation, int]] = []
    if lines is None:
        wanted = [(allocations[a], q) for a, q in ready.items()]
    else:
        for pack in lines:
            stock.check_quantity(pack.quantity)
            left = pack.quantity
            for a_id, q in ready.items():
                allocation = allocations[a_id]
                if allocation.line.product_id == pack.product.pk and left:
                    take = min(q, left)
                    wanted.append((allocation, take))
                    left -= take
            if left:
                raise NotPicked(
                    order,
                    location,
                    product=pack.product,
                    requested=pack.quantity,
                    ready=pack.quantity - left,
                )
    if not wanted:
        raise NotPicked(order, location)
    package = Package.objects.create(
        order=order,
        location=location,
        carrier=carrier[:50],
        tracking_number=tracking_number[:64],
        packed_by=actor,
    )
    PackageLine.objects.bulk_create(
        [PackageLine(package=package, allocation=a, quantity=q) for a, q in wanted]
    )
    for allocation, q in wanted:
        PickLine.objects.filter(allocation=allocation, packed__lte=F("picked") - q).update(
            packed=F("packed") + q
        )
    return package


@transaction.atomic
def package_ship(
    *, package: Package, carrier: str = "", tracking_number: str = "", actor: User | None = None
) -> Package:
    """The parcel leaves: each line consumes its hold into the ledger (location → customer),
    and the order becomes shipped, or partially shipped while units remain."""
    order = lock_order(package.order_id)
    package = lock_package(package.pk)
    if package.status != PackageStatus.PACKED:
        raise PackageInvalidState(package)
    lines = list(package.lines.select_related("allocation__reservation", "allocation__line"))
    stock_locks.lock_stock_levels(
        (package.location_id, ln.allocation.line.product_id) for ln in lines
    )
    for ln in lines:
        stock.reservation_consume(
            reservation=ln.allocation.reservation,
            quantity=ln.quantity,
            reason=MoveReason.SHIP,
            reference=order.reference,
            actor=actor,
            revenue=ln.allocation.line.net_amount(ln.quantity),
        )
    package.status = PackageStatus.SHIPPED
    package.shipped_at = timezone.now()
    package.carrier = carrier[:50] or package.carrier
    package.tracking_number = tracking_number[:64] or package.tracking_number
    package.save(update_fields=["status", "shipped_at", "carrier", "tracking_number"])
    everything_shipped = all(shipped_units(line) >= line.quantity for line in order.lines.all())
    to = OrderStatus.SHIPPED if everything_shipped else OrderStatus.PARTIALLY_SHIPPED
    if order.status != to:
        order_set_status(order=order, to=to)
    _notify(
        order,
        "shipped" if everything_shipped else "partially_shipped",
        f"Order {order.external_id} is on its way",
        f"{package.carrier or 'Our courier'} carries it"
        + (f", tracking number {package.tracking_number}." if package.tracking_number else "."),
    )
    return package


def shipped_units(line: OrderLine) -> int:
    return (
        PackageLine.objects.filter(
            allocation__line=line, package__status=PackageStatus.SHIPPED
        ).aggregate(units=Sum("quantity"))["units"]
        or 0
    )


# --------------------------------------------------------------------------- returns


@dataclass(frozen=True)
class ReturnedLine:
    product: Product
    quantity: int
    disposition: ReturnDisposition = ReturnDisposition.RESTOCK


def delivered_units(line: OrderLine) -> int:
    """Units of a line the customer has: its consumed holds (shipped, picked up, sold),
    counted by owner, because shipping part of a hold splits the consumed part off."""
    return (
        Reservation.objects.filter(
            owner_type=OWNER_TYPE, owner_id=line.owner_id, status=ReservationStatus.CONSUMED
        ).aggregate(units=Sum("quantity"))["units"]
        or 0
    )


def returned_units(line: OrderLine) -> int:
    return ReturnLine.objects.filter(order_line=line).aggregate(u=Sum("quantity"))["u"] or 0


@transaction.atomic
def return_receive(
    *,
    order: Order,
    location: Location,
    lines: Sequence[ReturnedLine],
    reason: str = "",
    actor: User | None = None,
) -> Return:
    """Goods come back from a customer to a store or the DC: restocked (``customer`` →
    location) or scrapped (then location → ``scrap``). No more than was delivered returns."""
    order = lock_order(order.pk)
    if not location.is_physical or not location.active:
        raise InvalidInput.saying(
            gettext_lazy("%(location)s cannot receive returns"),
            detail={"location": location.code},
            location=location.code,
        )
    if not lines:
        raise NoLines("return")
    by_product = {ln.product_id: ln for ln in order.lines.select_related("product")}
    seen: set[int] = set()
    for ret in lines:
        stock.check_quantity(ret.quantity)
        if ret.product.pk in seen:
            raise InvalidInput.saying(
                gettext_lazy("%(sku)s appears twice"),
                detail={"sku": ret.product.sku},
                sku=ret.product.sku,
            )
        seen.add(ret.product.pk)
        line = by_product.get(ret.product.pk)
        if line is None:
            raise NotReturnable(ret.product, order)
        returnable = delivered_units(line) - returned_units(line)
        if ret.quantity > returnable:
            raise NotReturnable(ret.product, order, returnable=returnable, quantity=ret.quantity)
    stock_locks.lock_stock_levels((location.pk, ret.product.pk) for ret in lines)
    record = Return.objects.create(
        order=order, location=location, reason=reason[:200], received_by=actor
    )
    for ret in lines:
        ReturnLine.objects.create(
            ret=record,
            order_line=by_product[ret.product.pk],
            quantity=ret.quantity,
            disposition=ret.disposition,
        )
        stock.stock_return(
            product=ret.product,
            location=location,
            quantity=ret.quantity,
            scrap=ret.disposition == ReturnDisposition.SCRAP,
            reference=order.reference,
            note=f"return {record.pk}: {reason}"[:255],
            actor=actor,
            revenue=by_product[ret.product.pk].net_amount(ret.quantity),
        )
    return record


# --------------------------------------------------------------------------- notifications


def _notify(order: Order, kind: str, subject: str, body: str) -> Notification:
    """Write the message to the outbox now; a Celery task sends it once the transaction
    commits. Queueing is ``robust``: a broker that is down loses no order (the message stays
    in the outbox for ``notifications_send_pending``)."""
    from .tasks import notification_send_task  # the tasks module imports this one

    recipient = order.customer_phone or order.member_id
    note = Notification.objects.create(
        order=order, kind=kind, recipient=recipient, subject=subject[:200], body=body
    )
    transaction.on_commit(lambda: notification_send_task.delay(note.pk), robust=True)
    return note


class NotificationNotSent(Exception):
    """The backend refused or could not be reached; the attempt is recorded, try again."""


def notification_send(*, notification_id: int) -> bool:
    """Send an outbox message once (Django's email backend; the recipient is the customer's
    phone or member id, which a real gateway maps to SMS or a mini-program message).

    Returns False when there is nothing to do: already sent, or another worker is sending it
    right now (its row lock is held; it is skipped, not waited for). ``sent_at`` is written in
    the transaction that holds the lock around the send, so of two tries only one sends. A
    failed send raises ``NotificationNotSent`` after recording the attempt and the error.
    """
    try:
        with transaction.atomic():
            note = (
                Notification.objects.select_for_update(skip_locked=True)
                .filter(pk=notification_id, sent_at__isnull=True)
                .first()
            )
            if note is None:
                return False
            send_mail(
                note.subject,
                f"To: {note.recipient or 'customer'}\n\n{note.body}",
                settings.DEFAULT_FROM_EMAIL,
                [settings.DEFAULT_FROM_EMAIL],
                fail_silently=False,
            )
            now = timezone.now()
            Notification.objects.filter(pk=notification_id).update(
                sent_at=now, attempts=F("attempts") + 1, last_attempt_at=now, last_error=""
            )
    except (OSError, smtplib.SMTPException, ImproperlyConfigured) as exc:
        # ImproperlyConfigured: a file backend whose directory cannot be made or written.
        Notification.objects.filter(pk=notification_id).update(
            attempts=F("attempts") + 1,
            last_attempt_at=timezone.now(),
            last_error=f"{type(exc).__name__}: {exc}"[:255],
        )
        raise NotificationNotSent(str(exc)) from exc
    logger.info("notification %s sent (%s, order %s)", note.pk, note.kind, note.order_id)
    return True


def notifications_pending(*, now: datetime | None = None) -> list[int]:
    """Messages still unsent that no task is about to try: written (or last tried) more than
    ``OMNI_NOTIFY_RETRY_SECONDS`` ago and under ``OMNI_NOTIFY_MAX_ATTEMPTS`` tries."""
    now = now or timezone.now()
    quiet = now - timedelta(seconds=max(settings.OMNI_NOTIFY_RETRY_SECONDS, 60))
    return list(
        Notification.objects.filter(
            sent_at__isnull=True,
            attempts__lt=settings.OMNI_NOTIFY_MAX_ATTEMPTS,
            created_at__lt=quiet,
        )
        .filter(Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lt=quiet))
        .order_by("id")
        .values_list("pk", flat=True)[:1000]
    )
