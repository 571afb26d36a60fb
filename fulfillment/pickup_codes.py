"""Pickup codes: Ed25519-signed tokens a store can check offline with the public key alone.

A token is ``OMNI1.<payload>.<signature>``, both parts base64url without padding; the payload
is compact JSON ``{"o": order id, "s": store code, "e": expiry (unix seconds), "n": nonce}``.
Ed25519 signatures are deterministic, so the same payload always gives the same token: the
customer's QR code can be drawn again at any time from what the database keeps.

This module is pure (no Django): ``verify`` is what a store device runs offline.
"""

from __future__ import annotations

import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from omni import signing

PREFIX = "OMNI1"
MAX_TOKEN_LENGTH = 512


class TokenMalformed(ValueError):
    """Not a pickup token at all."""


class BadSignature(ValueError):
    """A well-formed token whose signature does not verify; ``payload`` is what it claims."""

    def __init__(self, payload: Payload) -> None:
        super().__init__("signature does not verify")
        self.payload = payload


@dataclass(frozen=True)
class Payload:
    order: int
    store: str
    expires: int  # unix seconds
    nonce: str

    def encode(self) -> bytes:
        body = {"o": self.order, "s": self.store, "e": self.expires, "n": self.nonce}
        return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()

    def digest(self) -> str:
        return hashlib.sha256(self.encode()).hexdigest()


_b64 = signing.b64
_unb64 = signing.unb64


def sign(payload: Payload, key: Ed25519PrivateKey) -> str:
    data = payload.encode()
    return f"{PREFIX}.{_b64(data)}.{_b64(key.sign(data))}"


def parse(token: str) -> tuple[Payload, bytes, bytes]:
    """Split a token into its claimed payload, the signed bytes and the signature."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise TokenMalformed("not a pickup code")
    parts = token.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise TokenMalformed("not a pickup code")
    try:
        data = _unb64(parts[1])
        signature = _unb64(parts[2])
        body: Any = json.loads(data)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise TokenMalformed("the code does not decode") from exc
    if not isinstance(body, dict) or set(body) != {"o", "s", "e", "n"}:
        raise TokenMalformed("the code carries the wrong fields")
    order, store, expires, nonce = body["o"], body["s"], body["e"], body["n"]
    if not (
        isinstance(order, int)
        and isinstance(store, str)
        and isinstance(expires, int)
        and isinstance(nonce, str)
    ):
        raise TokenMalformed("the code's fields have the wrong types")
    return Payload(order=order, store=store, expires=expires, nonce=nonce), data, signature


def verify(token: str, public_key: Ed25519PublicKey) -> Payload:
    """The payload of a genuine token. Raises ``TokenMalformed`` or ``BadSignature``.
    Expiry and store are the caller's to check: it knows the time and where it stands."""
    payload, data, signature = parse(token)
    try:
        public_key.verify(signature, data)
    except InvalidSignature as exc:
        raise BadSignature(payload) from exc
    return payload


# The key handling lives in ``omni.signing`` (one key for every signed code); re-exported here.
private_key_from_seed = signing.private_key_from_seed
private_key_from_text = signing.private_key_from_text
public_key_pem = signing.public_key_pem
public_key_from_pem = signing.public_key_from_pem
