"""Short pickup codes: six digits a customer reads out when their QR code cannot be scanned.

A short code is derived from its pickup code's nonce with a server-side key (HMAC-SHA256), so it
can be shown again whenever the QR code is (the customer's page, the store's code page) without
being kept in the database in clear: the row keeps only a keyed hash of it. A copy of the
database alone tells nothing (the hash needs the key, and six digits are otherwise tried in a
second); the key comes from the signing key (``OMNI_SIGNING_KEY``).

Six digits are guessable in a way a signed token is not, so a short code is never enough alone:
the clerk types it with the order number or the last four digits of the customer's phone, and
refused short codes are limited per store and per user (docs/api.md, "Short codes", has the
guessing arithmetic). This module is pure (no Django).
"""

from __future__ import annotations

import hashlib
import hmac
import re

DIGITS = 6
SPACE = 10**DIGITS  # a million codes
PHONE_DIGITS = 4

_SEPARATORS = re.compile(r"[\s\-·.]")


def derive(key: bytes, nonce: str) -> str:
    """The six digits of the pickup code with ``nonce``; the same every time."""
    mac = hmac.new(key, b"omni short code:" + nonce.encode(), hashlib.sha256).digest()
    # 64 bits reduced modulo a million: the bias (below 1e-13) is nothing anyone can use.
    return str(int.from_bytes(mac[:8], "big") % SPACE).zfill(DIGITS)


def digest(key: bytes, nonce: str, digits: str) -> str:
    """What the database keeps of a short code: a keyed hash, bound to its pickup code."""
    message = f"omni short code hash:{nonce}:{digits}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def matches(key: bytes, nonce: str, digits: str, stored: str) -> bool:
    """Whether ``digits`` is the short code whose hash is ``stored`` (in constant time)."""
    return bool(stored) and hmac.compare_digest(digest(key, nonce, digits), stored)


def normalize(text: str, *, length: int = DIGITS) -> str | None:
    """The digits typed, without the spaces or dashes people put in; None unless exactly
    ``length`` ASCII digits remain."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    cleaned = _SEPARATORS.sub("", text)
    if len(cleaned) != length or not cleaned.isascii() or not cleaned.isdigit():
        return None
    return cleaned


def spaced(digits: str) -> str:
    """``482913`` → ``482 913``: easier to read out and to type."""
    return f"{digits[:3]} {digits[3:]}"
