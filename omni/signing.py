"""Ed25519 signing shared by every signed code Omni prints (pickup codes, member cards,
coupons): the one key (``OMNI_SIGNING_KEY``), its public half for offline verifiers, and the
canonical text encodings a verifier insists on.

A signed code has exactly one spelling. Decoders are forgiving (padding, case, skipped
characters, ignored trailing bits), so every decode here re-encodes what it read and refuses
the text unless it comes back identical: a genuine signature in any other spelling is not that
code. Everything above ``signing_key`` is pure (no Django): a till can run it.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

# The order of the Ed25519 group: a signature's S (its last 32 bytes, little-endian) must be
# below it (RFC 8032 §5.1.7). OpenSSL checks this too; checked here so the rule does not hang on
# one library version.
ED25519_L = 2**252 + 27742317777372353535851937790883648493
SIGNATURE_BYTES = 64


def b64(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    """The bytes of a base64url text with no padding and its unused low bits zero; anything
    else — padding, characters outside the alphabet, set padding bits — raises ValueError."""
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64(data) != text:
        raise ValueError("not the canonical base64url spelling")
    return data


def b32(data: bytes) -> str:
    """RFC 4648 base32, upper case, without padding: what a QR code's alphanumeric mode holds
    most densely and a person can read out."""
    return base64.b32encode(data).rstrip(b"=").decode()


def unb32(text: str) -> bytes:
    """The bytes of a canonical base32 text: upper case, no padding, no whitespace, unused
    low bits of the last character zero. Anything else raises ValueError."""
    if not text.isascii() or not text.isalnum():
        raise ValueError("not base32")
    padded = text + "=" * (-len(text) % 8)
    data = base64.b32decode(padded, casefold=False)
    if b32(data) != text:
        raise ValueError("not the canonical base32 spelling")
    return data


def signature_is_canonical(signature: bytes) -> bool:
    """64 bytes whose scalar S is reduced (S < L): the only form RFC 8032 accepts."""
    if len(signature) != SIGNATURE_BYTES:
        return False
    return int.from_bytes(signature[32:], "little") < ED25519_L


def private_key_from_seed(seed: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed).digest())


def private_key_from_text(text: str) -> Ed25519PrivateKey:
    """A key from ``OMNI_SIGNING_KEY``: base64 of the 32 raw bytes, or a PEM private key."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("OMNI_SIGNING_KEY is not an Ed25519 key")
        return key
    raw = base64.b64decode(text)
    if len(raw) != 32:
        raise ValueError("OMNI_SIGNING_KEY must be 32 bytes, base64-encoded")
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def public_key_from_pem(pem: str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


@lru_cache(maxsize=4)
def _key_for(text: str, secret: str) -> Ed25519PrivateKey:
    if text:
        return private_key_from_text(text)
    # No key configured (a development machine): one derived from the secret key. The seed's
    # words are kept from when only pickup codes were signed, so issued codes stay valid.
    return private_key_from_seed(("omni pickup codes " + secret).encode())


def signing_key() -> Ed25519PrivateKey:
    """The key every signed code is signed with (``OMNI_SIGNING_KEY``)."""
    from django.conf import settings

    return _key_for(settings.OMNI_SIGNING_KEY, settings.SECRET_KEY)


def public_key() -> Ed25519PublicKey:
    return signing_key().public_key()


def derived_secret(purpose: bytes) -> bytes:
    """A 32-byte secret for ``purpose`` (an HMAC key), derived from the signing key: one secret
    to keep."""
    raw = signing_key().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return hashlib.sha256(purpose + b":" + raw).digest()
