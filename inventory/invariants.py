"""The invariants of the stock model (DESIGN.md, "Invariants"), checked in a handful of
aggregate queries so they are cheap enough to run nightly and after every test that writes."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Q, Sum

from .models import (
    PHYSICAL_KINDS,
    Location,
    LocationKind,
    ProductCost,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMove,
)


@dataclass(frozen=True)
class Violation:
    invariant: str
    row: str
    message: str

    def __str__(self) -> str:
        return f"[{self.invariant}] {self.row}: {self.message}"


INVARIANTS = {
    "ledger_matches_on_hand": "on_hand = Σ ledger in − Σ ledger out per (SKU, physical location)",
    "sku_nets_to_zero": "each SKU nets to zero over all locations, virtual ones included",
    "reserved_matches_holds": "reserved = Σ active reservations per (SKU, location)",
    "check_constraints": "on_hand ≥ 0, 0 ≤ reserved ≤ on_hand, move quantity > 0",
    "consumed_has_one_move": "every consumed reservation has exactly one ledger move",
    "valuation_quantity": "cost quantity = Σ on hand + in transit per SKU",
    "valuation_average": "stock value = quantity × moving-average cost within rounding",
    "valuation_ledger": "stock value = opening value + Σ ledger value in − Σ ledger value out",
}

OWNED_KINDS = (*PHYSICAL_KINDS, LocationKind.TRANSIT)
# Half a unit of the average's last place (four decimals), per unit owned.
AVERAGE_TOLERANCE = Decimal("0.00005")


def _ledger_balances() -> dict[tuple[int, int], int]:
    """Σ in − Σ out per (location id, product id), over every location."""
    balance: dict[tuple[int, int], int] = defaultdict(int)
    for row in StockMove.objects.values("to_location_id", "product_id").annotate(q=Sum("quantity")):
        balance[(row["to_location_id"], row["product_id"])] += row["q"]
    for row in StockMove.objects.values("from_location_id", "product_id").annotate(
        q=Sum("quantity")
    ):
        balance[(row["from_location_id"], row["product_id"])] -= row["q"]
    return balance


def check_invariants() -> tuple[dict[str, int], list[Violation]]:
    """Check every invariant. Returns (rows checked per invariant, violations)."""
    violations: list[Violation] = []
    checked: dict[str, int] = {}
    physical = set(Location.objects.filter(kind__in=PHYSICAL_KINDS).values_list("id", flat=True))
    balances = _ledger_balances()
    levels = {
        (lvl["location_id"], lvl["product_id"]): lvl
        for lvl in StockLevel.objects.values(
            "id", "location_id", "product_id", "on_hand", "reserved"
        )
    }

    # on_hand against the ledger, both ways round.
    keys = {k for k in balances if k[0] in physical} | set(levels)
    for key in sorted(keys):
        ledger = balances.get(key, 0)
        on_hand = levels[key]["on_hand"] if key in levels else 0
        if ledger != on_hand:
            violations.append(
                Violation(
                    "ledger_matches_on_hand",
                    f"StockLevel location={key[0]} product={key[1]}",
                    f"on_hand is {on_hand} but the ledger says {ledger}",
                )
            )
    checked["ledger_matches_on_hand"] = len(keys)

    # Stock is conserved: stock levels plus the virtual locations' ledger balances net to zero.
    per_sku: dict[int, int] = defaultdict(int)
    for (location_id, product_id), qty in balances.items():
        if location_id not in physical:
            per_sku[product_id] += qty
    for (_, product_id), lvl in levels.items():
        per_sku[product_id] += lvl["on_hand"]
    for product_id, total in sorted(per_sku.items()):
        if total != 0:
            violations.append(
                Violation("sku_nets_to_zero", f"Product id={product_id}", f"nets to {total}, not 0")
            )
    checked["sku_nets_to_zero"] = len(per_sku)

    held = {
        (row["location_id"], row["product_id"]): row["q"]
        for row in Reservation.objects.filter(status=ReservationStatus.ACTIVE)
        .values("location_id", "product_id")
        .annotate(q=Sum("quantity"))
    }
    for key in sorted(set(held) | set(levels)):
        reserved = levels[key]["reserved"] if key in levels else 0
        if reserved != held.get(key, 0):
            violations.append(
                Violation(
                    "reserved_matches_holds",
                    f"StockLevel location={key[0]} product={key[1]}",
                    f"reserved is {reserved} but active reservations hold {held.get(key, 0)}",
                )
            )
    checked["reserved_matches_holds"] = len(set(held) | set(levels))

    bad_levels = StockLevel.objects.filter(
        Q(on_hand__lt=0) | Q(reserved__lt=0) | Q(reserved__gt=F("on_hand"))
    ).values_list("id", "on_hand", "reserved")
    for level_id, on_hand, reserved in bad_levels:
        violations.append(
            Violation(
                "check_constraints",
                f"StockLevel id={level_id}",
                f"on_hand={on_hand} reserved={reserved}",
            )
        )
    for move_id, qty in StockMove.objects.filter(quantity__lte=0).values_list("id", "quantity"):
        violations.append(
            Violation("check_constraints", f"StockMove id={move_id}", f"quantity={qty}")
        )
    for res_id, qty in Reservation.objects.filter(quantity__lte=0).values_list("id", "quantity"):
        violations.append(
            Violation("check_constraints", f"Reservation id={res_id}", f"quantity={qty}")
        )
    checked["check_constraints"] = len(levels)

    consumed = Reservation.objects.annotate(n_moves=Count("moves"))
    for res_id, status, n_moves in consumed.filter(
        (Q(status=ReservationStatus.CONSUMED) & ~Q(n_moves=1))
        | (~Q(status=ReservationStatus.CONSUMED) & Q(n_moves__gt=0))
    ).values_list("id", "status", "n_moves"):
        violations.append(
            Violation(
                "consumed_has_one_move",
                f"Reservation id={res_id}",
                f"{status} with {n_moves} ledger moves",
            )
        )
    checked["consumed_has_one_move"] = Reservation.objects.filter(
        status=ReservationStatus.CONSUMED
    ).count()
    _check_valuation(balances, checked, violations)
    return checked, violations


def _check_valuation(
    balances: dict[tuple[int, int], int], checked: dict[str, int], violations: list[Violation]
) -> None:
    """The moving-average cost rows against the stock and the ledger (docs/valuation.md)."""
    owned_locations = set(
        Location.objects.filter(kind__in=OWNED_KINDS).values_list("id", flat=True)
    )
    owned: dict[int, int] = defaultdict(int)
    for (location_id, product_id), qty in balances.items():
        if location_id in owned_locations:
            owned[product_id] += qty
    costs = {
        row["product_id"]: row
        for row in ProductCost.objects.values(
            "product_id", "quantity", "value", "average_cost", "opening_value"
        )
    }
    for product_id in sorted(set(owned) | set(costs)):
        row = costs.get(product_id)
        quantity = row["quantity"] if row else 0
        if quantity != owned.get(product_id, 0):
            violations.append(
                Violation(
                    "valuation_quantity",
                    f"ProductCost product={product_id}",
                    f"quantity is {quantity} but {owned.get(product_id, 0)} are owned",
                )
            )
    checked["valuation_quantity"] = len(set(owned) | set(costs))

    for product_id, row in sorted(costs.items()):
        value, average, quantity = row["value"], row["average_cost"], row["quantity"]
        drift = abs(value - quantity * average)
        if value < 0 or average < 0 or drift > quantity * AVERAGE_TOLERANCE:
            violations.append(
                Violation(
                    "valuation_average",
                    f"ProductCost product={product_id}",
                    f"value {value} ≠ {quantity} × {average} (off by {drift})",
                )
            )
    checked["valuation_average"] = len(costs)

    ledger: dict[int, Decimal] = defaultdict(Decimal)
    boundary = StockMove.objects.filter(value__isnull=False)
    inflow = boundary.filter(to_location__kind__in=OWNED_KINDS).exclude(
        from_location__kind__in=OWNED_KINDS
    )
    outflow = boundary.filter(from_location__kind__in=OWNED_KINDS).exclude(
        to_location__kind__in=OWNED_KINDS
    )
    for sign, moves in ((1, inflow), (-1, outflow)):
        for product_id, total in (
            moves.values("product_id").annotate(v=Sum("value")).values_list("product_id", "v")
        ):
            ledger[product_id] += sign * total
    for product_id, row in sorted(costs.items()):
        expected = row["opening_value"] + ledger.get(product_id, Decimal(0))
        if expected != row["value"]:
            violations.append(
                Violation(
                    "valuation_ledger",
                    f"ProductCost product={product_id}",
                    f"value is {row['value']} but opening + ledger give {expected}",
                )
            )
    checked["valuation_ledger"] = len(costs)


def assert_invariants() -> None:
    """For tests: fail loudly, naming each bad row."""
    _, violations = check_invariants()
    if violations:
        raise AssertionError("stock invariants broken:\n" + "\n".join(map(str, violations)))
