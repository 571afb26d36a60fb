"""Order quantities in what a supplier sells: its minimum order quantity and its case pack."""

from __future__ import annotations


def round_to_pack(quantity: int, moq: int, multiple: int) -> int:
    """The quantity to order for a need of ``quantity`` units: nothing stays nothing (0 for a
    need of 0 or less); otherwise the need rounded up to a whole number of ``multiple`` (the
    case pack), and at least ``moq``. ``moq`` and ``multiple`` must be at least 1."""
    if moq < 1:
        raise ValueError(f"moq: must be at least 1, not {moq}")
    if multiple < 1:
        raise ValueError(f"multiple: must be at least 1, not {multiple}")
    if quantity <= 0:
        return 0
    packs = -(-int(quantity) // multiple)
    return max(int(moq), packs * multiple)
