"""A campaign's discount on a basket, line by line: pure (no Django), so the counter page, an
offline till and the order placement compute the same cents (docs/loyalty.md, "Discounts").

- percent off: each eligible line gets ``percent`` of what is left of it, rounded half-up to
  the cent;
- amount off: the amount (at most what is left of the eligible lines) is spread over them in
  proportion to what is left of each, the cents by largest remainder;
- free item: one unit of the free SKU, which must be on the order.

The minimum spend is on the eligible lines (before this coupon). Lines already discounted by
another coupon count only what is left of them. ``cap`` (the campaign's remaining budget)
trims the result, first lines last.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


class NotApplicable(ValueError):
    """The basket does not qualify; ``why`` is one of ``CouponNotApplicable.WHY``'s keys."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


@dataclass(frozen=True)
class Line:
    key: Hashable
    sku: str
    quantity: int
    unit_price: Decimal
    discounted: Decimal = Decimal("0")  # by coupons applied before this one

    @property
    def left(self) -> Decimal:
        return max(Decimal("0"), self.quantity * self.unit_price - self.discounted)


@dataclass(frozen=True)
class Rule:
    kind: str  # percent_off | amount_off | free_item
    percent_off: Decimal | None = None
    amount_off: Decimal | None = None
    free_sku: str | None = None
    min_spend: Decimal = Decimal("0")
    skus: frozenset[str] = field(default_factory=frozenset)
    categories: tuple[str, ...] = ()

    def covers(self, sku: str) -> bool:
        """Whether the rule's eligibility takes a SKU: named, or under a category (a SKU
        prefix); a rule naming neither takes every SKU."""
        if not self.skus and not self.categories:
            return True
        return sku in self.skus or any(sku.startswith(c) for c in self.categories)


def discount(
    rule: Rule, lines: Sequence[Line], *, cap: Decimal | None = None
) -> dict[Hashable, Decimal]:
    """The discount per line key (only lines that get one), or ``NotApplicable``."""
    if rule.kind == "free_item":
        free = [ln for ln in lines if ln.sku == rule.free_sku]
        if not free:
            raise NotApplicable("free_item_missing")
        eligible = [ln for ln in lines if rule.covers(ln.sku)] or free
        if sum((ln.left for ln in eligible), Decimal("0")) < rule.min_spend:
            raise NotApplicable("min_spend")
        wanted = {free[0].key: min(free[0].unit_price, free[0].left)}
    else:
        eligible = [ln for ln in lines if rule.covers(ln.sku)]
        if not eligible:
            raise NotApplicable("no_eligible_lines")
        base = sum((ln.left for ln in eligible), Decimal("0"))
        if base < rule.min_spend:
            raise NotApplicable("min_spend")
        if rule.kind == "percent_off":
            assert rule.percent_off is not None
            share = rule.percent_off / Decimal(100)
            wanted = {
                ln.key: min(ln.left, (ln.left * share).quantize(CENT, ROUND_HALF_UP))
                for ln in eligible
            }
        elif rule.kind == "amount_off":
            assert rule.amount_off is not None
            wanted = _spread(min(rule.amount_off, base), eligible)
        else:
            raise ValueError(f"unknown rule kind {rule.kind!r}")
    wanted = {k: v for k, v in wanted.items() if v > 0}
    if not wanted:
        raise NotApplicable("nothing_left")
    if cap is not None:
        wanted = _trim(wanted, cap)
    return wanted


def _spread(amount: Decimal, lines: Sequence[Line]) -> dict[Hashable, Decimal]:
    """``amount`` over ``lines`` in proportion to what is left of each, to the cent, never
    more than a line has left (largest remainder gets the leftover cents)."""
    base = sum((ln.left for ln in lines), Decimal("0"))
    if base <= 0:
        return {}
    exact = {ln.key: amount * ln.left / base for ln in lines}
    floor = {k: v.quantize(CENT, ROUND_DOWN) for k, v in exact.items()}
    cents = int(((amount - sum(floor.values(), Decimal("0"))) / CENT).to_integral_value())
    order = sorted(lines, key=lambda ln: (-(exact[ln.key] - floor[ln.key]), str(ln.key)))
    left = {ln.key: ln.left for ln in lines}
    for ln in order:
        if cents <= 0:
            break
        if floor[ln.key] + CENT <= left[ln.key]:
            floor[ln.key] += CENT
            cents -= 1
    return floor


def _trim(wanted: dict[Hashable, Decimal], cap: Decimal) -> dict[Hashable, Decimal]:
    """At most ``cap`` in all: the first lines keep theirs, the last give way."""
    out: dict[Hashable, Decimal] = {}
    room = max(Decimal("0"), cap)
    for key, amount in wanted.items():
        take = min(amount, room)
        if take > 0:
            out[key] = take
        room -= take
    return out
