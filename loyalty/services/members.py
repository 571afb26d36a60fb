"""Members: joining (the phone kept only as a keyed hash and its last four digits), the
rotating member-card code, and attaching a member to a sale or pickup by scanning it."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory.models import Location
from network.models import Channel
from omni import signing
from omni.models import User
from orders.locks import lock_order
from orders.models import Order

from .. import codes
from ..errors import CardCodeRefused, MemberPhoneInvalid, MemberPhoneTaken
from ..models import Member

_PHONE = re.compile(r"^\+?[0-9]{6,20}$")


def phone_normalize(phone: str) -> str:
    """A phone number's one spelling: digits (after an optional +), spaces, dashes, dots and
    brackets dropped. Raises ``MemberPhoneInvalid``."""
    text = re.sub(r"[\s\-.()]", "", phone or "")
    if not _PHONE.match(text):
        raise MemberPhoneInvalid()
    return text


def phone_hash(phone: str) -> str:
    """The keyed hash members are found by: HMAC-SHA256 under a key derived from the signing
    key, so the table alone does not give the numbers back (a plain hash of 11 digits would)."""
    key = signing.derived_secret(b"omni member phones")
    return hmac.new(key, phone_normalize(phone).encode(), hashlib.sha256).hexdigest()


@transaction.atomic
def member_create(
    *,
    phone: str,
    name: str = "",
    home_store: Location | None = None,
    joined_channel: Channel | None = None,
    joined_store: Location | None = None,
    consent_marketing: bool = False,
    consent_sms: bool = False,
    consent_analysis: bool = False,
    actor: User | None = None,
) -> Member:
    """A new member. The same phone twice is ``MemberPhoneTaken`` (naming the member)."""
    normalized = phone_normalize(phone)
    digest = phone_hash(normalized)
    existing = Member.objects.filter(phone_hash=digest).first()
    if existing is not None:
        raise MemberPhoneTaken(existing.number)
    try:
        with transaction.atomic():
            member = Member.objects.create(
                number=f"tmp-{digest[:12]}",
                phone_hash=digest,
                phone_last4=normalized[-4:],
                name=name,
                home_store=home_store or joined_store,
                joined_channel=joined_channel,
                joined_store=joined_store,
                consent_marketing=consent_marketing,
                consent_sms=consent_sms,
                consent_analysis=consent_analysis,
            )
    except IntegrityError:
        raise MemberPhoneTaken(Member.objects.get(phone_hash=digest).number) from None
    member.number = member_number(member.pk)
    member.save(update_fields=["number"])
    return member


def member_number(member_id: int) -> str:
    """``M`` + eight digits + a check digit (Luhn), so a mistyped number is caught."""
    body = f"{member_id:08d}"
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return f"M{body}{(10 - total % 10) % 10}"


def member_card_code(member: Member, *, now: datetime | None = None) -> str:
    """The member card's code now: good for at most a minute, a new one every 30 s."""
    moment = int((now or timezone.now()).timestamp())
    payload = codes.CardPayload(member.pk, member.card_version, codes.card_expiry(moment))
    return codes.sign_card(payload, signing.signing_key())


def member_from_card(code: str, *, now: datetime | None = None) -> Member:
    """The member whose card code was scanned, or ``CardCodeRefused``."""
    moment = int((now or timezone.now()).timestamp())
    try:
        payload = codes.verify_card(code, signing.public_key(), now=moment)
    except codes.CodeRefused as exc:
        raise CardCodeRefused(exc.reason) from exc
    member = Member.objects.filter(pk=payload.member).first()
    if member is None:
        raise CardCodeRefused("forged")
    if member.card_version != payload.version:
        raise CardCodeRefused("revoked")
    return member


@transaction.atomic
def member_card_revoke(*, member: Member) -> Member:
    """Every card code drawn so far stops working (a lost phone)."""
    Member.objects.filter(pk=member.pk).update(card_version=member.card_version + 1)
    member.refresh_from_db()
    return member


@transaction.atomic
def member_attach_to_order(*, order: Order, card_code: str, actor: User | None = None) -> Order:
    """The clerk scanned the customer's card at the counter: the sale or pickup is theirs."""
    member = member_from_card(card_code)
    order = lock_order(order.pk)
    if order.member_id != member.number:
        order.member_id = member.number
        order.save(update_fields=["member_id", "updated_at"])
    return order
