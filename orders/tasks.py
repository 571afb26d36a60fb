from __future__ import annotations

from celery import shared_task

from omni.models import City

from .services import order_lines_resource, orders_expire_unpaid, orders_route_waiting


@shared_task
def orders_expire_unpaid_task() -> int:
    """Expire unpaid orders whose hold ran out. Safe to run twice at once."""
    return orders_expire_unpaid()


@shared_task
def order_lines_resource_task(
    line_ids: list[int],
    why: str = "stock taken by a counter sale",
    exclude: list[int] | None = None,
) -> int:
    """Source again the lines that lost their holds (counter sale, short pick)."""
    return len(order_lines_resource(line_ids=line_ids, why=why, exclude=exclude or []))


@shared_task(acks_late=True)
def orders_route_waiting_task(
    product_ids: list[int] | None = None, city_id: int | None = None
) -> dict[str, int]:
    """Route again the orders waiting for these products (all if none given), in one city's
    queue or every city's. Idempotent: each order's missing units are counted afresh under
    its lock."""
    city = City.objects.filter(pk=city_id).first() if city_id is not None else None
    report = orders_route_waiting(product_ids=product_ids, city=city)
    return {
        "tried": report.tried,
        "filled": report.filled,
        "partly": report.partly,
        "still_waiting": report.still_waiting,
        "failed": report.failed,
    }
