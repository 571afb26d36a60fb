"""A pickup code has exactly one valid spelling: the same bytes written another way in base64
(padding, padding bits set, stray characters) are refused, not accepted as the genuine code."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fulfillment import pickup_codes

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def genuine() -> tuple[str, Ed25519PrivateKey]:
    key = Ed25519PrivateKey.generate()
    payload = pickup_codes.Payload(order=7, store="S01", expires=2_000_000_000, nonce="n0")
    return pickup_codes.sign(payload, key), key


def with_padding_bits(part: str) -> str:
    """The same bytes with an unused low bit of the last character set (64 signature bytes
    leave four such bits)."""
    last = ALPHABET.index(part[-1])
    return part[:-1] + ALPHABET[last | 1]


def test_the_genuine_code_verifies():
    token, key = genuine()
    assert pickup_codes.verify(token, key.public_key()).order == 7


@pytest.mark.parametrize(
    "respell",
    [
        lambda p, b, s: f"{p}.{b}.{with_padding_bits(s)}",
        lambda p, b, s: f"{p}.{b}.{s}==",
        lambda p, b, s: f"{p}.{b}.{s[:10]}*{s[10:]}",
        lambda p, b, s: f"{p}.{b}=.{s}",
    ],
    ids=["padding-bits", "padding", "stray-character", "padded-payload"],
)
def test_another_spelling_of_the_same_bytes_is_refused(respell):
    token, key = genuine()
    prefix, body, signature = token.split(".")
    other = respell(prefix, body, signature)
    assert other != token
    with pytest.raises(pickup_codes.TokenMalformed):
        pickup_codes.verify(other, key.public_key())
