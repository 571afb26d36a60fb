"""Store pickup: the signed code (QR) and its six-digit short code, issued when an order is
ready at its store; the hand-over at the counter against either, once; no-shows back to stock.

A pickup code belongs to its order and is used under the order's lock (docs/locking.md): the
hand-over locks the order, uses the code in one conditional UPDATE, then takes the stock levels
of the order's holds. ``fulfillment.services`` re-exports every public name here.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy

from inventory import locks as stock_locks
from inventory import services as stock
from inventory.errors import ReservationNotActive
from inventory.models import Location, MoveReason, ReservationStatus
from omni import signing
from omni.errors import ApplicationError, InvalidInput
from omni.limits import RateLimited, slot_return, slot_take
from omni.models import User
from orders.locks import lock_order
from orders.models import Allocation, Order, OrderMode, OrderStatus, PaymentStatus
from orders.services import order_set_status

from . import pickup_codes, short_codes
from .errors import (
    PickupCodeExpired,
    PickupCodeForged,
    PickupCodeMalformed,
    PickupCodeRefused,
    PickupCodeTampered,
    PickupCodeUsed,
    PickupCodeWrongStore,
    PickupNotReady,
    PickupShortCodeInvalid,
    PickupShortCodesPaused,
    PickupShortCodeWrong,
)
from .models import PickLine, PickList, PickupAttempt, PickupCode

logger = logging.getLogger(__name__)


def signing_key() -> Ed25519PrivateKey:
    return signing.signing_key()


def public_key() -> Ed25519PublicKey:
    return signing.public_key()


def pickup_token(code: PickupCode) -> str:
    """The token of an issued code, drawn again from what the database keeps."""
    return pickup_codes.sign(_payload(code), signing_key())


def _short_code_key() -> bytes:
    """The HMAC key of short codes, derived from the signing key: one secret to keep."""
    return signing.derived_secret(b"omni short pickup codes")


def pickup_short_code(code: PickupCode) -> str:
    """The six digits of an issued code, drawn again from its nonce (the row keeps a hash);
    empty for a code issued before short codes existed."""
    if not code.short_code_hash:
        return ""
    return short_codes.derive(_short_code_key(), code.nonce)


def _payload(code: PickupCode) -> pickup_codes.Payload:
    return pickup_codes.Payload(
        order=code.order_id,
        store=code.store.code,
        expires=int(code.expires_at.timestamp()),
        nonce=code.nonce,
    )


@transaction.atomic
def pickup_prepare(*, order: Order, actor: User | None = None) -> PickList:
    """Store staff start preparing a pickup: a pick list of this order at its store."""
    order = Order.objects.select_related("pickup_store").get(pk=order.pk)
    if order.mode != OrderMode.PICKUP or order.pickup_store is None:
        raise InvalidInput(gettext_lazy("only pickup orders are prepared for the counter"))
    from .services import pick_wave_create  # services re-exports this module's names

    return pick_wave_create(location=order.pickup_store, actor=actor, orders=[order])


@transaction.atomic
def pickup_mark_ready(*, order: Order, actor: User | None = None) -> PickupCode:
    """Everything is on the pickup shelf: issue the signed code and tell the customer."""
    order = lock_order(order.pk)
    if order.mode != OrderMode.PICKUP or order.pickup_store is None:
        raise InvalidInput(gettext_lazy("only pickup orders wait at a counter"))
    if order.status == OrderStatus.READY_FOR_PICKUP:
        return PickupCode.objects.get(order=order)
    lines = list(order.lines.all())
    picked = dict(
        PickLine.objects.filter(
            allocation__line__order=order, pick_list__location=order.pickup_store
        )
        .values_list("allocation__line_id")
        .annotate(units=Sum("picked"))
    )
    short = [ln for ln in lines if picked.get(ln.pk, 0) < ln.quantity]
    from . import services  # services imports this module at its top

    if short:
        raise PickupNotReady(order, order.pickup_store, short, picked)
    order_set_status(order=order, to=OrderStatus.READY_FOR_PICKUP)
    code = PickupCode.objects.create(
        order=order,
        store=order.pickup_store,
        nonce=secrets.token_urlsafe(12),
        payload_hash="",
        expires_at=timezone.now() + timedelta(hours=settings.OMNI_PICKUP_HOLD_HOURS),
    )
    key = _short_code_key()
    digits = short_codes.derive(key, code.nonce)
    code.payload_hash = _payload(code).digest()
    code.short_code_hash = short_codes.digest(key, code.nonce, digits)
    code.save(update_fields=["payload_hash", "short_code_hash"])
    services._notify(
        order,
        "ready_for_pickup",
        f"Order {order.external_id} is ready at {order.pickup_store.name}",
        f"Show your pickup code at {order.pickup_store.name} before "
        f"{timezone.localtime(code.expires_at):%Y-%m-%d %H:%M}. If it cannot be scanned, "
        f"tell the clerk your short code {short_codes.spaced(digits)} and your order number "
        f"{order.pk}.",
    )
    return code


def pickup_redeem(*, token: str, store: Location, actor: User | None = None) -> Order:
    """Hand over a pickup: the code must be genuine, unaltered, for this store, not expired
    and not used. Atomic and single use: of many simultaneous scans of one code, one wins.
    Every attempt, refused or not, is logged."""
    try:
        return _redeem(token=token, store=store, actor=actor)
    except PickupCodeRefused as refused:
        _attempt_refused(refused, store=store, actor=actor, excerpt=str(token)[:80], method="qr")
        raise


def _attempt_refused(
    refused: ApplicationError, *, store: Location, actor: User | None, excerpt: str, method: str
) -> None:
    """Log a refusal, in its own transaction: the hand-over's rolled back, the log stays."""
    with transaction.atomic():
        PickupAttempt.objects.create(
            code_id=getattr(refused, "pickup_code_id", None),
            store=store,
            result=str(refused.code),
            method=method,
            token_excerpt=excerpt,
            actor=actor,
        )
    logger.warning("pickup code refused at %s: %s (%s)", store.code, refused.code, refused.message)


@transaction.atomic
def _redeem(*, token: str, store: Location, actor: User | None) -> Order:
    try:
        payload = pickup_codes.verify(token, public_key())
    except pickup_codes.TokenMalformed as exc:
        raise PickupCodeMalformed(str(exc)) from exc
    except pickup_codes.BadSignature as exc:
        issued = PickupCode.objects.filter(nonce=exc.payload.nonce).first()
        if issued is not None:
            raise PickupCodeTampered(pickup_code_id=issued.pk) from exc
        raise PickupCodeForged() from exc
    code = PickupCode.objects.select_related("store").filter(nonce=payload.nonce).first()
    if code is None or code.payload_hash != payload.digest():
        raise PickupCodeForged()
    if payload.store != store.code:
        raise PickupCodeWrongStore(for_store=payload.store, here=store, pickup_code_id=code.pk)
    if payload.expires < timezone.now().timestamp():
        raise PickupCodeExpired(expired_at=payload.expires, pickup_code_id=code.pk)
    return _hand_over(code, store=store, actor=actor, excerpt=token[:80], method="qr")


def _hand_over(
    code: PickupCode, *, store: Location, actor: User | None, excerpt: str, method: str
) -> Order:
    """The one hand-over of a code found genuine and in time at its store, whichever way it was
    shown: lock the order, use the code once (a conditional UPDATE), consume the holds."""
    order = lock_order(code.order_id)
    now = timezone.now()
    won = PickupCode.objects.filter(pk=code.pk, redeemed_at__isnull=True).update(
        redeemed_at=now, redeemed_by=actor
    )
    if not won or order.status != OrderStatus.READY_FOR_PICKUP:
        raise PickupCodeUsed(order, used=not won, pickup_code_id=code.pk)
    held = list(
        Allocation.objects.filter(
            line__order=order, reservation__status=ReservationStatus.ACTIVE
        ).select_related("reservation", "line")
    )
    stock_locks.lock_stock_levels(
        (a.reservation.location_id, a.reservation.product_id) for a in held
    )
    for allocation in held:
        hold = allocation.reservation
        stock.reservation_consume(
            reservation=hold,
            reason=MoveReason.PICKUP,
            reference=order.reference,
            actor=actor,
            revenue=allocation.line.net_amount(hold.quantity),
        )
    if order.payment_status != PaymentStatus.PAID:
        Order.objects.filter(pk=order.pk).update(payment_status=PaymentStatus.PAID)
    order_set_status(order=order, to=OrderStatus.COMPLETED)
    PickupAttempt.objects.create(
        code=code, store=store, result="redeemed", method=method, token_excerpt=excerpt, actor=actor
    )
    order.refresh_from_db()
    return order


# Wrong short codes per store (``OMNI_PICKUP_SHORT_CODE_STORE_RATE``): counted before the code is
# tried, so a burst of simultaneous guesses cannot slip through (``omni.limits.slot_take``).
SHORT_CODE_LIMIT_GROUP = "pickup-short-code-store"
MAX_SHORT_CODE_CANDIDATES = 50


def pickup_redeem_short_code(
    *,
    short_code: str,
    store: Location,
    order: str = "",
    phone_last4: str = "",
    actor: User | None = None,
) -> Order:
    """Hand over a pickup whose QR code cannot be scanned: its six-digit short code with the
    order number (id or the channel's number) or the last four digits of the customer's phone.

    The same hand-over as ``pickup_redeem`` (``_hand_over``): once, atomically, every attempt
    logged. A wrong code counts against the store (``PickupShortCodesPaused`` past the limit,
    for every clerk there; QR codes still work) and is refused with one answer whether or not
    such an order exists."""
    excerpt = f"order {order.strip()[:64]}" if order.strip() else f"phone …{phone_last4.strip()}"
    try:
        digits, order, phone_last4 = _short_code_input(short_code, order, phone_last4)
        rate = settings.OMNI_PICKUP_SHORT_CODE_STORE_RATE
        try:
            slot = slot_take(group=SHORT_CODE_LIMIT_GROUP, key=str(store.pk), rate=rate)
        except RateLimited as limited:
            raise PickupShortCodesPaused(
                store, limit=rate, retry_after=limited.retry_after
            ) from limited
        try:
            handed = _redeem_short_code(
                digits, store=store, order=order, phone_last4=phone_last4, actor=actor
            )
        except PickupShortCodeWrong:
            raise  # the slot stays taken: this is what the limit counts
        except PickupCodeRefused:
            slot_return(slot)  # the right code, refused for another reason (used, expired)
            raise
        slot_return(slot)
        return handed
    except (PickupCodeRefused, PickupShortCodesPaused) as refused:
        _attempt_refused(refused, store=store, actor=actor, excerpt=excerpt, method="short_code")
        raise


def _short_code_input(short_code: str, order: str, phone_last4: str) -> tuple[str, str, str]:
    digits = short_codes.normalize(short_code)
    if digits is None:
        raise PickupShortCodeInvalid("short_code")
    order, phone_last4 = order.strip(), phone_last4.strip()
    if bool(order) == bool(phone_last4):
        raise PickupShortCodeInvalid("which")
    if phone_last4:
        last4 = short_codes.normalize(phone_last4, length=short_codes.PHONE_DIGITS)
        if last4 is None:
            raise PickupShortCodeInvalid("phone_last4")
        return digits, "", last4
    if len(order) > 64:
        raise PickupShortCodeInvalid("order")
    return digits, order, ""


@transaction.atomic
def _redeem_short_code(
    digits: str, *, store: Location, order: str, phone_last4: str, actor: User | None
) -> Order:
    if order:
        # Any store: the right code at the wrong store is told so, as a scanned one is.
        by_order = Q(order__external_id=order)
        if order.isdigit() and len(order) <= 15:  # an id, not a number past bigint
            by_order |= Q(order_id=int(order))
        candidates = PickupCode.objects.filter(by_order)
    else:
        candidates = PickupCode.objects.filter(
            store=store,
            redeemed_at__isnull=True,
            order__status=OrderStatus.READY_FOR_PICKUP,
            order__customer_phone__endswith=phone_last4,
        )
    key = _short_code_key()
    found = [
        code
        for code in candidates.select_related("store").order_by("id")[:MAX_SHORT_CODE_CANDIDATES]
        if short_codes.matches(key, code.nonce, digits, code.short_code_hash)
    ]
    if not found:
        raise PickupShortCodeWrong(order=order, phone_last4=phone_last4)
    code = found[0]
    if code.store_id != store.pk:
        raise PickupCodeWrongStore(for_store=code.store.code, here=store, pickup_code_id=code.pk)
    if code.expires_at < timezone.now():
        raise PickupCodeExpired(expired_at=int(code.expires_at.timestamp()), pickup_code_id=code.pk)
    excerpt = f"order {order}" if order else f"phone …{phone_last4}"
    return _hand_over(code, store=store, actor=actor, excerpt=excerpt, method="short_code")


def pickups_expire_no_shows(*, now: datetime | None = None) -> int:
    """Pickups nobody collected before their code expired go back to stock. Safe to run
    twice at once: the order's status changes in one conditional UPDATE.

    Each order is its own transaction, ``durable``: the sweep must be the outermost
    transaction, or the next order's lock would come after the previous one's stock levels."""
    now = now or timezone.now()
    expired = 0
    due = PickupCode.objects.filter(
        expires_at__lte=now, redeemed_at__isnull=True, order__status=OrderStatus.READY_FOR_PICKUP
    ).values_list("order_id", flat=True)
    for order_id in list(due):
        with transaction.atomic(durable=True):
            won = Order.objects.filter(pk=order_id, status=OrderStatus.READY_FOR_PICKUP).update(
                status=OrderStatus.EXPIRED, updated_at=now
            )
            if not won:
                continue
            order = Order.objects.get(pk=order_id)
            from . import services  # services imports this module at its top

            holds = [
                a.reservation
                for a in Allocation.objects.filter(
                    line__order=order, reservation__status=ReservationStatus.ACTIVE
                ).select_related("reservation")
            ]
            stock_locks.lock_stock_levels((h.location_id, h.product_id) for h in holds)
            for hold in holds:
                try:
                    stock.reservation_release(reservation=hold, reason="pickup not collected")
                except ReservationNotActive:
                    continue
            services._notify(
                order,
                "pickup_expired",
                f"Order {order.external_id} was not collected",
                "Your pickup time has passed and the goods went back on the shelf.",
            )
            expired += 1
    return expired
