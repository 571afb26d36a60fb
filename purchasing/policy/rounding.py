"""Rounding an order quantity to what a supplier sells: at least the minimum order quantity,
in whole order multiples (case packs). Pure: shared by the proposals and the PO services."""

from __future__ import annotations


def round_to_pack(quantity: int, moq: int, multiple: int) -> int:
    """The smallest quantity a supplier accepts that covers ``quantity``: 0 for nothing
    wanted; otherwise at least ``moq``, rounded up to a whole number of ``multiple``.

    ``round_to_pack(7, 10, 6) == 12`` (the MOQ 10 in cases of 6),
    ``round_to_pack(13, 1, 6) == 18``, ``round_to_pack(0, 10, 6) == 0``.
    """
    if moq < 1:
        raise ValueError(f"moq must be at least 1, got {moq}")
    if multiple < 1:
        raise ValueError(f"multiple must be at least 1, got {multiple}")
    if quantity <= 0:
        return 0
    wanted = max(quantity, moq)
    return -(-wanted // multiple) * multiple
