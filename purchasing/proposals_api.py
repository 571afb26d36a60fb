"""The replenishment proposals router: start a run, list and read runs and their lines, edit a
line's quantity, approve (→ draft purchase orders, once) or reject. Planners and admins only
(a run spans a city); others get 403.

No ``from __future__ import annotations``: ninja reads the annotations.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema, Status
from ninja.decorators import decorate_view
from ninja.pagination import paginate

from omni.access import current_user, reads_everything
from omni.errors import RoleNotAllowed
from omni.idempotency import idempotent
from omni.models import User
from omni.pagination import CursorPagination
from omni.schemas import InputSchema, QuerySchema
from omni.selectors import city_by_code
from purchasing.proposal_models import ProposalDecision, ProposalStatus, ReplenishmentRun
from purchasing.proposals import selectors, services
from purchasing.tasks import replenishment_run_task

router = Router(tags=["replenishment proposals"])

Word = Annotated[str, Field(min_length=1, max_length=32)]


class ProposalRunIn(InputSchema):
    city: Word
    budget: Annotated[Decimal, Field(ge=0, le=Decimal("999999999999"))] | None = None
    capacity: Annotated[float, Field(ge=0, le=1e12)] | None = None
    capacity_unit: Literal["units", "m3"] = "units"
    service_level: Annotated[float, Field(ge=0.5, lt=1)] | None = None
    review_days: Annotated[int, Field(ge=1, le=365)] | None = None


class ProposalRunFilter(QuerySchema):
    city: Annotated[str, Field(max_length=32)] | None = None
    status: ProposalStatus | None = None
    decision: ProposalDecision | None = None


class ProposalRunOut(Schema):
    id: int
    city: str
    run_date: date
    scheduled: bool
    status: str
    decision: str
    budget: Decimal | None
    capacity: float | None
    capacity_unit: str
    service_level: float
    review_days: int
    solver_status: str
    demand_source: str
    spend: Decimal
    unconstrained_spend: Decimal
    expected_sold: float
    unconstrained_expected_sold: float
    message: str
    created_at: datetime
    finished_at: datetime | None
    decided_at: datetime | None

    @staticmethod
    def resolve_city(obj: Any) -> str:
        return str(obj.city.code)


class ProposalLineFilter(QuerySchema):
    sku: Annotated[str, Field(max_length=64)] | None = None
    supplier: Annotated[str, Field(max_length=32)] | None = None
    location: Annotated[str, Field(max_length=32)] | None = None
    buying: bool | None = None


class ProposalLineOut(Schema):
    id: int
    sku: str = Field(alias="product.sku")
    location: str = Field(alias="location.code")
    supplier: str | None
    unit_cost: Decimal = Field(..., description="In the supplier's currency.")
    exchange_rate: Decimal = Field(
        ..., description="Company currency per unit of the supplier's, on the run's day."
    )
    moq: int
    multiple: int
    lead_time_days: int
    on_hand: int
    on_order: int
    inbound: int
    held: int
    allocated_out: int
    position: int
    method: str
    forecast: float
    reorder_point: int
    order_up_to: int
    safety_stock: int
    need: int
    unconstrained_quantity: int
    quantity: int
    edited_quantity: int | None
    final_quantity: int
    why: str

    @staticmethod
    def resolve_supplier(obj: Any) -> str | None:
        return obj.supplier.code if obj.supplier_id else None


class ProposalLineEditIn(InputSchema):
    quantity: Annotated[int, Field(ge=0, le=1_000_000)]


class PurchaseOrderRef(Schema):
    id: int
    number: str
    supplier: str
    ship_to: str
    status: str
    expected_arrival: date | None
    lines: int
    units: int


def _planner(request: HttpRequest) -> User:
    user = current_user(request)
    if not reads_everything(user):
        raise RoleNotAllowed(user, _("replenishment proposals are for planners and administrators"))
    return user


@router.post("/replenishment/runs", response={202: ProposalRunOut})
@decorate_view(idempotent)
def proposal_run_start(request: HttpRequest, body: ProposalRunIn) -> Status:
    """Queue a proposal run for the city (the daily job makes one per city and day anyway)."""
    user = _planner(request)
    city = city_by_code(body.city)
    with transaction.atomic():
        run = services.replenishment_run_create(
            city=city,
            budget=body.budget,
            capacity=body.capacity,
            capacity_unit=body.capacity_unit,
            service_level=body.service_level,
            review_days=body.review_days,
            actor=user,
        )
        transaction.on_commit(lambda: replenishment_run_task.delay(run.pk))
    return Status(202, selectors.replenishment_run_get(run.pk))


@router.get("/replenishment/runs", response=list[ProposalRunOut])
@paginate(CursorPagination, ordering=("-id",))
def proposal_run_list(request: HttpRequest, filters: Query[ProposalRunFilter]) -> Any:
    _planner(request)
    return selectors.replenishment_run_list(**filters.dict())


@router.get("/replenishment/runs/{run_id}", response=ProposalRunOut)
def proposal_run_detail(request: HttpRequest, run_id: int) -> ReplenishmentRun:
    _planner(request)
    return selectors.replenishment_run_get(run_id)


@router.get("/replenishment/runs/{run_id}/lines", response=list[ProposalLineOut])
@paginate(CursorPagination, ordering=("id",))
def proposal_run_lines(
    request: HttpRequest, run_id: int, filters: Query[ProposalLineFilter]
) -> Any:
    """The run's lines with the parts of each position and why it buys what it buys."""
    _planner(request)
    run = selectors.replenishment_run_get(run_id)
    return selectors.proposal_line_list(run, **filters.dict())


@router.post("/replenishment/runs/{run_id}/lines/{line_id}", response=ProposalLineOut)
@decorate_view(idempotent)
def proposal_line_edit(
    request: HttpRequest, run_id: int, line_id: int, body: ProposalLineEditIn
) -> Any:
    """The planner's quantity for a line: 0, or the MOQ and up in whole packs."""
    user = _planner(request)
    line = selectors.proposal_line_get(selectors.replenishment_run_get(run_id), line_id)
    return services.proposal_line_edit(line=line, quantity=body.quantity, actor=user)


def _po_refs(orders: list[Any]) -> list[dict[str, Any]]:
    out = []
    for o in orders:
        lines = list(o.lines.all())
        out.append(
            {
                "id": o.pk,
                "number": o.number,
                "supplier": o.supplier.code,
                "ship_to": o.ship_to.code,
                "status": o.status,
                "expected_arrival": o.expected_arrival,
                "lines": len(lines),
                "units": sum(ln.quantity_ordered for ln in lines),
            }
        )
    return out


@router.post("/replenishment/runs/{run_id}/approve", response=list[PurchaseOrderRef])
@decorate_view(idempotent)
def proposal_run_approve(request: HttpRequest, run_id: int) -> list[dict[str, Any]]:
    """The lines become draft purchase orders, one per supplier × ship-to; approving again
    answers the same purchase orders."""
    user = _planner(request)
    run = selectors.replenishment_run_get(run_id)
    return _po_refs(services.replenishment_run_approve(run=run, actor=user))


@router.post("/replenishment/runs/{run_id}/reject", response=ProposalRunOut)
@decorate_view(idempotent)
def proposal_run_reject(request: HttpRequest, run_id: int) -> ReplenishmentRun:
    user = _planner(request)
    run = selectors.replenishment_run_get(run_id)
    return services.replenishment_run_reject(run=run, actor=user)
