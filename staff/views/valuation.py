"""The planners' valuation page (under ``/staff/valuation/``): stock value by location, and
cost of goods, turnover, days of supply and GMROI per location, SKU or city for the last 7, 30
or 90 days, with a chart of stock value and turnover per location (docs/valuation.md).

Planners and admins only (``planner_page``). It reads the same selectors as the API.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from inventory.models import PHYSICAL_KINDS, Location, Product
from inventory.valuation_selectors import Period, stock_value_by_location, turnover_metrics
from omni.models import City
from staff.charts.valuation import value_turnover_chart_svg
from staff.views.common import Staff, planner_page

PERIODS = (7, 30, 90)
GRAINS = {
    "location": _("Location"),
    "sku": _("SKU"),
    "city": _("City"),
}
TOP_ROWS = 50


@planner_page("valuation")
def valuation_page(request: HttpRequest, staff: Staff) -> HttpResponse:
    days = _choice(request.GET.get("days"), {str(d): d for d in PERIODS}, 30)
    grain = _choice(request.GET.get("grain"), {g: g for g in GRAINS}, "location")
    cities = list(City.objects.order_by("code"))
    city = next((c for c in cities if c.code == request.GET.get("city")), None)
    ids: list[int] | None = None
    if city is not None:
        ids = list(
            Location.objects.filter(city=city, kind__in=PHYSICAL_KINDS).values_list("pk", flat=True)
        )
    period = Period.last(days)
    by_location = turnover_metrics("location", period, location_ids=ids)
    rows = by_location if grain == "location" else turnover_metrics(grain, period, location_ids=ids)
    labels = _labels(grain, [r.key for r in rows[:TOP_ROWS]])
    places = Location.objects.in_bulk([r.key for r in by_location])
    stock = stock_value_by_location(ids)
    total = sum((row["value"] for row in stock), Decimal(0))
    return render(
        request,
        "valuation/page.html",
        {
            "staff": staff,
            "days": days,
            "periods": PERIODS,
            "grain": grain,
            "grains": list(GRAINS.items()),
            "cities": cities,
            "city": city,
            "period": period,
            "stock": stock,
            "stock_total": total,
            "rows": [(labels.get(r.key, str(r.key)), r) for r in rows[:TOP_ROWS]],
            "more_rows": max(len(rows) - TOP_ROWS, 0),
            "chart": _chart(by_location, places, period),
        },
    )


def _choice(raw: str | None, allowed: dict[str, Any], default: Any) -> Any:
    return allowed.get(raw or "", default)


def _labels(grain: str, keys: list[int]) -> dict[int, str]:
    if grain == "sku":
        return dict(Product.objects.filter(pk__in=keys).values_list("pk", "sku"))
    if grain == "city":
        return dict(City.objects.filter(pk__in=keys).values_list("pk", "name"))
    return dict(Location.objects.filter(pk__in=keys).values_list("pk", "code"))


def _chart(rows: list[Any], places: dict[int, Location], period: Period) -> str:
    shown = [r for r in rows if r.key in places and places[r.key].kind in PHYSICAL_KINDS][:20]
    if not shown:
        return ""
    return value_turnover_chart_svg(
        title=gettext("Stock value and turnover, %(start)s to %(end)s")
        % {"start": period.start.isoformat(), "end": period.end.isoformat()},
        locations=[places[r.key].code for r in shown],
        values=[float(r.stock_value) for r in shown],
        turnovers=[r.turnover or 0.0 for r in shown],
        value_label=gettext("stock value"),
        turnover_label=gettext("turnover (cost of goods ÷ average stock value)"),
    )
