"""Coupon and member-card codes: a genuine code verifies with the public key alone; forged,
tampered, expired, wrong-store, replayed and every other spelling of a genuine signature are
refused, each with its own reason."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from loyalty import codes
from omni import signing

NOW = 1_900_000_000
KEY = signing.private_key_from_seed(b"loyalty code tests")
PUBLIC = signing.public_key_from_pem(signing.public_key_pem(KEY.public_key()))


def coupon(stores: tuple[int, ...] = (), expires: int = NOW + 3600) -> str:
    payload = codes.coupon_payload(
        coupon=41, campaign=7, member=1234, expires=expires, stores=stores
    )
    return codes.sign_coupon(payload, KEY)


def refused(text: object, **kwargs: object) -> str:
    with pytest.raises(codes.CodeRefused) as caught:
        codes.verify_coupon(text, PUBLIC, now=NOW, **kwargs)  # type: ignore[arg-type]
    return caught.value.reason


def raw(text: str) -> bytes:
    return signing.unb32(text[len(codes.COUPON_PREFIX) :])


def respell(data: bytes) -> str:
    return codes.COUPON_PREFIX + signing.b32(data)


def test_a_genuine_code_verifies_with_the_public_key_alone() -> None:
    text = coupon(stores=(9, 3))
    payload = codes.verify_coupon(text, PUBLIC, now=NOW, store=3)
    assert payload == codes.CouponPayload(41, 7, 1234, NOW + 3600, (3, 9))
    assert text.isalnum() and text.isupper()
    assert codes.verify_coupon(coupon(), PUBLIC, now=NOW, store=99).coupon == 41  # any store


def test_forged_signed_by_another_key() -> None:
    other = Ed25519PrivateKey.generate()
    payload = codes.coupon_payload(coupon=41, campaign=7, member=1234, expires=NOW + 60, stores=())
    assert refused(codes.sign_coupon(payload, other)) == "forged"


def test_tampered_payload_keeps_the_signature() -> None:
    data = bytearray(raw(coupon()))
    data[1 + 7] ^= 1  # the coupon id's last byte
    assert refused(respell(bytes(data))) == "forged"
    longer = codes.coupon_payload(
        coupon=41, campaign=7, member=1234, expires=NOW + 10**6, stores=()
    ).encode()
    assert refused(respell(longer + raw(coupon())[-64:])) == "forged"


def test_expired() -> None:
    assert refused(coupon(expires=NOW - 1)) == "expired"
    assert codes.verify_coupon(coupon(expires=NOW), PUBLIC, now=NOW).coupon == 41


def test_wrong_store() -> None:
    assert refused(coupon(stores=(3, 9)), store=4) == "wrong_store"


def test_replayed_at_a_till_that_accepted_it_already() -> None:
    assert refused(coupon(), used={41}) == "replayed"


@pytest.mark.parametrize(
    "respelled",
    [
        pytest.param(lambda t: t.lower(), id="lower case"),
        pytest.param(lambda t: t[:3] + t[3:].lower(), id="lower-case body"),
        pytest.param(lambda t: t + "=" * (-(len(t) - 3) % 8 or 8), id="padding"),
        pytest.param(lambda t: t + " ", id="trailing space"),
        pytest.param(lambda t: " " + t, id="leading space"),
        pytest.param(lambda t: t[:20] + "\n" + t[20:], id="newline inside"),
        pytest.param(lambda t: t[:20] + " " + t[20:], id="space inside"),
    ],
)
def test_other_spellings_of_a_genuine_code(respelled: object) -> None:
    text = coupon()
    other = respelled(text)  # type: ignore[operator]
    assert other != text
    assert refused(other) in ("not_canonical", "malformed")


def test_other_last_character_bits() -> None:
    text = coupon()  # 86 bytes: the last base32 character carries 2 unused bits
    assert (len(raw(text)) * 8) % 5
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    value = alphabet.index(text[-1])
    other = text[:-1] + alphabet[value | 1]
    assert other != text
    assert base64.b32decode(other[3:] + "=" * (-len(other[3:]) % 8)) == raw(text)
    assert refused(other) == "not_canonical"


def test_trailing_bytes() -> None:
    data = raw(coupon())
    # Extra bytes between the layout and the signature, or after the signature.
    assert refused(respell(data[:-64] + b"\0" + data[-64:])) == "not_canonical"
    assert refused(respell(data + b"\0")) in ("not_canonical", "forged")


def test_signature_scalar_not_reduced() -> None:
    data = raw(coupon())
    signature = data[-64:]
    s = int.from_bytes(signature[32:], "little") + signing.ED25519_L
    assert s < 2**256
    unreduced = signature[:32] + s.to_bytes(32, "little")
    assert refused(respell(data[:-64] + unreduced)) == "not_canonical"


def test_unsorted_stores_are_another_encoding() -> None:
    head = codes.CouponPayload(41, 7, 1234, NOW + 60, (3, 9)).encode()
    swapped = head[:-8] + head[-4:] + head[-8:-4]
    assert refused(respell(swapped + KEY.sign(swapped))) == "not_canonical"


@pytest.mark.parametrize("text", [None, 12, "", "OC1", "hello", "OC1" + "A" * 500, "OM1AAAA"])
def test_garbage_is_malformed(text: object) -> None:
    assert refused(text) in ("malformed", "not_canonical")


def test_card_code_rotates_and_dies_within_a_minute() -> None:
    code = codes.sign_card(codes.CardPayload(5, 1, codes.card_expiry(NOW)), KEY)
    assert codes.verify_card(code, PUBLIC, now=NOW).member == 5
    later = codes.sign_card(codes.CardPayload(5, 1, codes.card_expiry(NOW + 30)), KEY)
    assert later != code  # rotated
    with pytest.raises(codes.CodeRefused) as caught:
        codes.verify_card(code, PUBLIC, now=NOW + codes.CARD_LIFETIME + codes.CLOCK_SKEW + 1)
    assert caught.value.reason == "expired"
    with pytest.raises(codes.CodeRefused) as caught:
        codes.verify_card(code.lower(), PUBLIC, now=NOW)
    assert caught.value.reason == "not_canonical"
    forged = codes.sign_card(
        codes.CardPayload(5, 1, codes.card_expiry(NOW)), Ed25519PrivateKey.generate()
    )
    with pytest.raises(codes.CodeRefused) as caught:
        codes.verify_card(forged, PUBLIC, now=NOW)
    assert caught.value.reason == "forged"
    # A card code is not a coupon code and the other way round.
    assert refused(code) == "malformed"
