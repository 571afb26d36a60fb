"""Coupon codes and member-card codes: Ed25519-signed, in one canonical spelling, checked with
the public key alone (docs/loyalty.md, "Codes").

A coupon code is ``OC1`` followed by the canonical base32 (RFC 4648, upper case, no padding) of
fixed-layout bytes and their 64-byte signature::

    kind 'C' (1) | coupon id (u64) | campaign id (u32) | member id (u32, 0: none)
    | expires (u32, unix seconds) | n stores (u8, ≤ 16) | n × store id (u32) | signature (64)

A member-card code is ``OM1`` + base32 of ``'M' | member id (u32) | card version (u32) |
expires (u32) | signature``; it lives ``CARD_LIFETIME`` seconds and is drawn anew every
``CARD_ROTATION`` seconds, so a screenshot stops working within a minute.

All integers are big-endian. The byte layout fixes one encoding per content; the text has one
spelling (``omni.signing.unb32`` refuses any other); the signature's S must be reduced. So a
genuine signature presented any other way — lower case, padding, whitespace, trailing bytes,
other last-character bits, S + L — is refused, never accepted as the same code.

This module is pure (no Django): ``verify_coupon`` is what a till runs offline.
"""

from __future__ import annotations

import struct
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from omni import signing

COUPON_PREFIX = "OC1"
CARD_PREFIX = "OM1"
MAX_STORES = 16
MAX_CODE_LENGTH = 400
CARD_ROTATION = 30  # seconds between two card codes
CARD_LIFETIME = 60  # seconds a card code is good for at most
CLOCK_SKEW = 5  # seconds a till's clock may be behind

_COUPON_HEAD = struct.Struct(">cQIIIB")
_STORE = struct.Struct(">I")
_CARD = struct.Struct(">cIII")
_U32 = 2**32 - 1


class CodeRefused(ValueError):
    """A code that is refused; ``reason`` is one of ``REASONS`` and says why, ``payload`` is
    what the code claims when it could be read (for the online check to tell tampered from
    forged)."""

    REASONS = (
        "malformed",
        "not_canonical",
        "forged",
        "expired",
        "wrong_store",
        "replayed",
    )

    def __init__(self, reason: str, payload: CouponPayload | CardPayload | None = None) -> None:
        assert reason in self.REASONS
        super().__init__(reason)
        self.reason = reason
        self.payload = payload


@dataclass(frozen=True)
class CouponPayload:
    coupon: int
    campaign: int
    member: int  # 0: a printed coupon, anyone's
    expires: int  # unix seconds
    stores: tuple[int, ...]  # location ids; empty: any store

    def encode(self) -> bytes:
        if len(self.stores) > MAX_STORES:
            raise ValueError(f"a coupon names at most {MAX_STORES} stores")
        if list(self.stores) != sorted(set(self.stores)):
            raise ValueError("stores must be sorted and distinct")
        head = _COUPON_HEAD.pack(
            b"C", self.coupon, self.campaign, self.member, self.expires, len(self.stores)
        )
        return head + b"".join(_STORE.pack(s) for s in self.stores)


@dataclass(frozen=True)
class CardPayload:
    member: int
    version: int
    expires: int

    def encode(self) -> bytes:
        return _CARD.pack(b"M", self.member, self.version, self.expires)


# --------------------------------------------------------------------------- signing


def sign_coupon(payload: CouponPayload, key: Ed25519PrivateKey) -> str:
    data = payload.encode()
    return COUPON_PREFIX + signing.b32(data + key.sign(data))


def sign_card(payload: CardPayload, key: Ed25519PrivateKey) -> str:
    data = payload.encode()
    return CARD_PREFIX + signing.b32(data + key.sign(data))


def card_expiry(now: int) -> int:
    """When a card code drawn at ``now`` stops working: the end of the next rotation window,
    so a code shown lives between ``CARD_LIFETIME - CARD_ROTATION`` and ``CARD_LIFETIME``
    seconds."""
    return (now // CARD_ROTATION) * CARD_ROTATION + CARD_LIFETIME


# --------------------------------------------------------------------------- reading


def _split(text: object, prefix: str) -> tuple[bytes, bytes]:
    """The signed bytes and the signature of a code, refused unless spelled canonically."""
    if not isinstance(text, str) or len(text) > MAX_CODE_LENGTH:
        raise CodeRefused("malformed")
    if not text.startswith(prefix):
        # " oc1..." may be a genuine code spelled another way; "hello" is no code at all.
        spelled_otherwise = text.strip().upper().startswith(prefix)
        raise CodeRefused("not_canonical" if spelled_otherwise else "malformed")
    try:
        raw = signing.unb32(text[len(prefix) :])
    except ValueError as exc:
        # It may be a genuine code spelled another way; either way it is not this code.
        raise CodeRefused("not_canonical") from exc
    if len(raw) <= signing.SIGNATURE_BYTES:
        raise CodeRefused("malformed")
    return raw[: -signing.SIGNATURE_BYTES], raw[-signing.SIGNATURE_BYTES :]


def parse_coupon(text: object) -> tuple[CouponPayload, bytes, bytes]:
    """What a coupon code claims, its signed bytes and its signature (not yet verified)."""
    data, signature = _split(text, COUPON_PREFIX)
    if len(data) < _COUPON_HEAD.size:
        raise CodeRefused("malformed")
    kind, coupon, campaign, member, expires, count = _COUPON_HEAD.unpack_from(data)
    if kind != b"C" or count > MAX_STORES:
        raise CodeRefused("malformed")
    if len(data) != _COUPON_HEAD.size + count * _STORE.size:
        # Bytes after the stores (or too few of them): not this layout.
        raise CodeRefused("not_canonical")
    stores = tuple(
        _STORE.unpack_from(data, _COUPON_HEAD.size + i * _STORE.size)[0] for i in range(count)
    )
    payload = CouponPayload(coupon, campaign, member, expires, stores)
    if list(stores) != sorted(set(stores)):
        raise CodeRefused("not_canonical", payload)
    return payload, data, signature


def parse_card(text: object) -> tuple[CardPayload, bytes, bytes]:
    data, signature = _split(text, CARD_PREFIX)
    if len(data) != _CARD.size:
        raise CodeRefused("not_canonical" if len(data) > _CARD.size else "malformed")
    kind, member, version, expires = _CARD.unpack(data)
    if kind != b"M":
        raise CodeRefused("malformed")
    return CardPayload(member, version, expires), data, signature


def _check_signature(
    public_key: Ed25519PublicKey,
    data: bytes,
    signature: bytes,
    payload: CouponPayload | CardPayload,
) -> None:
    if not signing.signature_is_canonical(signature):
        raise CodeRefused("not_canonical", payload)
    try:
        public_key.verify(signature, data)
    except InvalidSignature as exc:
        raise CodeRefused("forged", payload) from exc


def verify_coupon(
    text: object,
    public_key: Ed25519PublicKey,
    *,
    now: int,
    store: int | None = None,
    used: Collection[int] = (),
) -> CouponPayload:
    """The payload of a genuine, unexpired coupon code good at ``store`` (a location id; None:
    do not check), or ``CodeRefused``. ``used`` is the coupon ids this till has already
    accepted (a till offline keeps them): one of them again is ``replayed``."""
    payload, data, signature = parse_coupon(text)
    _check_signature(public_key, data, signature, payload)
    if now > payload.expires:
        raise CodeRefused("expired", payload)
    if store is not None and payload.stores and store not in payload.stores:
        raise CodeRefused("wrong_store", payload)
    if payload.coupon in used:
        raise CodeRefused("replayed", payload)
    return payload


def verify_card(text: object, public_key: Ed25519PublicKey, *, now: int) -> CardPayload:
    """The payload of a genuine card code still in its short life, or ``CodeRefused``."""
    payload, data, signature = parse_card(text)
    _check_signature(public_key, data, signature, payload)
    if now > payload.expires + CLOCK_SKEW or payload.expires - now > CARD_LIFETIME + CLOCK_SKEW:
        raise CodeRefused("expired", payload)
    return payload


def coupon_payload(
    *, coupon: int, campaign: int, member: int | None, expires: int, stores: Sequence[int]
) -> CouponPayload:
    """A payload from a coupon's facts, in the canonical form (stores sorted, capped u32)."""
    if not 0 <= expires <= _U32:
        raise ValueError("expiry out of range")
    return CouponPayload(coupon, campaign, member or 0, expires, tuple(sorted(set(stores))))
