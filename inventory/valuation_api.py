"""The valuation router: stock value per location, and turnover, days of supply and GMROI per
SKU, location or city for a period (docs/valuation.md). Planners and admins read every
location; warehouse and store staff read their own locations only.

No ``from __future__ import annotations`` here: ninja resolves the parameter annotations
(``Query[...]``) at import time.
"""

from datetime import date
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router
from ninja.pagination import PageNumberPagination, paginate

from omni.access import current_user, reads_everything
from omni.errors import InvalidInput
from omni.models import City, User
from omni.schemas import QuerySchema

from .models import Product
from .valuation_schemas import LocationValueOut, MetricsOut
from .valuation_selectors import Period, stock_value_by_location, turnover_metrics

router = Router(tags=["valuation"])

MAX_PERIOD_DAYS = 366
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


class ValuationPageInput(QuerySchema):
    page: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    page_size: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE


class Pages(PageNumberPagination):
    """Page numbers: the rows are computed, not a queryset a cursor could walk."""

    Input = ValuationPageInput  # type: ignore[assignment]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE, **kwargs)


class StockFilter(QuerySchema):
    city: Annotated[str, Field(max_length=32)] | None = None


class TurnoverFilter(QuerySchema):
    grain: Literal["sku", "location", "city"] = "location"
    start: date | None = None
    end: date | None = None
    days: Annotated[int, Field(ge=1, le=MAX_PERIOD_DAYS)] = 30
    city: Annotated[str, Field(max_length=32)] | None = None


def visible_location_ids(user: User, city: str | None) -> list[int] | None:
    """The physical locations the user may read figures of, within ``city`` when given; None
    means every location (a planner or an admin, no city)."""
    from .models import PHYSICAL_KINDS, Location

    locations = Location.objects.filter(kind__in=PHYSICAL_KINDS)
    if city is not None:
        found = City.objects.filter(code=city).first()
        if found is None:
            raise InvalidInput(
                _("unknown city %(city)s"), detail={"field": "city"}, params={"city": city}
            )
        locations = locations.filter(city=found)
    if not reads_everything(user):
        locations = locations.filter(pk__in=user.location_ids())
    elif city is None:
        return None
    return list(locations.values_list("pk", flat=True))


def period_of(filters: TurnoverFilter) -> Period:
    if filters.start is None and filters.end is None:
        return Period.last(filters.days)
    if filters.start is None or filters.end is None:
        field = "start" if filters.start is None else "end"
        raise InvalidInput(_("give both start and end, or neither"), detail={"field": field})
    period = Period(filters.start, filters.end)
    if not 1 <= period.days <= MAX_PERIOD_DAYS:
        raise InvalidInput(
            _("the period must be 1 to %(days)s days, start before end"),
            detail={"field": "end"},
            params={"days": MAX_PERIOD_DAYS},
        )
    return period


@router.get("/valuation/stock", response=list[LocationValueOut])
@paginate(Pages)
def stock_value_list(request: HttpRequest, filters: Query[StockFilter]) -> Any:
    ids = visible_location_ids(current_user(request), filters.city)
    return stock_value_by_location(ids)


@router.get("/valuation/turnover", response=list[MetricsOut])
@paginate(Pages)
def turnover_list(request: HttpRequest, filters: Query[TurnoverFilter]) -> Any:
    period = period_of(filters)
    ids = visible_location_ids(current_user(request), filters.city)
    rows = turnover_metrics(filters.grain, period, location_ids=ids)
    labels = labels_of(filters.grain, [row.key for row in rows])
    return [
        {
            **row.__dict__,
            "key": labels.get(row.key, str(row.key)),
            "start": period.start,
            "end": period.end,
        }
        for row in rows
    ]


def labels_of(grain: str, keys: list[int]) -> dict[int, str]:
    """The SKU, location code or city code of each row's key."""
    from .models import Location

    model: Any = {"sku": Product, "location": Location, "city": City}[grain]
    field = "sku" if grain == "sku" else "code"
    return dict(model.objects.filter(pk__in=keys).values_list("pk", field))
