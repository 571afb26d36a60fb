"""The allocation router: start a run, follow it, read its lines, approve or reject it.
Planners and admins only (a run spans a whole city); others get 403.

No ``from __future__ import annotations``: ninja reads the annotations.
"""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema
from ninja.decorators import decorate_view

from allocation import services
from allocation.errors import UnknownAllocationRun
from allocation.models import AllocationLine, AllocationRun
from allocation.tasks import allocation_run_task
from omni.access import current_user, reads_everything, visible_one
from omni.errors import RoleNotAllowed
from omni.idempotency import idempotent
from omni.models import User
from omni.schemas import ErrorOut, InputSchema
from omni.selectors import city_by_code

router = Router(tags=["allocation"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
MAX_LINES = 1000


class RunIn(InputSchema):
    city: str
    service_level: float | None = None
    fairness: float | None = None
    time_limit: float | None = None
    gap: float | None = None
    solver: str | None = None
    method: str | None = None


class RunOut(Schema):
    id: int
    city: str
    status: str
    decision: str
    progress: int
    progress_message: str
    message: str
    need_source: str
    method: str
    objective: float | None
    bound: float | None
    gap: float | None
    terms: dict[str, Any]
    fill_rate: dict[str, Any]
    total_fill_rate: float | None
    transport_cost: float | None
    timings: dict[str, Any]
    parameters: dict[str, Any]
    created_at: datetime
    finished_at: datetime | None


class AllocationLineOut(Schema):
    sku: str
    source: str | None
    store: str
    need: int
    packs: int
    units: int
    unmet: int


class TransferRef(Schema):
    id: int
    source: str
    destination: str
    status: str
    units: int


def _planner(request: HttpRequest) -> User:
    user = current_user(request)
    if not reads_everything(user):
        raise RoleNotAllowed(user, _("allocation runs are for planners and administrators"))
    return user


def _run(run_id: int) -> AllocationRun:
    """Any run: only planners and admins get here (``_planner`` first), and they see all."""
    return visible_one(
        AllocationRun.objects.select_related("city"), UnknownAllocationRun, pk=run_id
    )


def _out(run: AllocationRun) -> dict[str, Any]:
    fields = {f: getattr(run, f) for f in RunOut.model_fields if f not in ("city",)}
    return {**fields, "city": run.city.code}


@router.post("/allocation/runs", response={202: RunOut, **ERRORS})
@decorate_view(idempotent)
def run_start(request: HttpRequest, body: RunIn) -> tuple[int, dict[str, Any]]:
    user = _planner(request)
    city = city_by_code(body.city)
    params = {k: v for k, v in body.dict().items() if k != "city" and v is not None}
    with transaction.atomic():
        run = services.allocation_run_create(city=city, parameters=params, actor=user)
        transaction.on_commit(lambda: allocation_run_task.delay(run.pk))
    run.refresh_from_db()
    return 202, _out(run)


@router.get("/allocation/runs/{run_id}", response={200: RunOut, **ERRORS})
def run_get(request: HttpRequest, run_id: int) -> dict[str, Any]:
    _planner(request)
    return _out(_run(run_id))


@router.get("/allocation/runs/{run_id}/lines", response={200: list[AllocationLineOut], **ERRORS})
def run_lines(request: HttpRequest, run_id: int, store: str = "", sku: str = "") -> list[Any]:
    _planner(request)
    rows = AllocationLine.objects.filter(run=_run(run_id)).select_related(
        "product", "source", "store"
    )
    if store:
        rows = rows.filter(store__code=store)
    if sku:
        rows = rows.filter(product__sku=sku)
    return [
        {
            "sku": ln.product.sku,
            "source": ln.source.code if ln.source else None,
            "store": ln.store.code,
            "need": ln.need,
            "packs": ln.packs,
            "units": ln.units,
            "unmet": ln.unmet,
        }
        for ln in rows.order_by("store__code", "product__sku")[:MAX_LINES]
    ]


@router.post("/allocation/runs/{run_id}/approve", response={200: list[TransferRef], **ERRORS})
@decorate_view(idempotent)
def run_approve(request: HttpRequest, run_id: int) -> list[Any]:
    user = _planner(request)
    transfers = services.allocation_run_approve(run=_run(run_id), actor=user)
    return [
        {
            "id": t.pk,
            "source": t.source.code,
            "destination": t.destination.code,
            "status": t.status,
            "units": sum(ln.quantity for ln in t.lines.all()),
        }
        for t in transfers
    ]


@router.post("/allocation/runs/{run_id}/reject", response={200: RunOut, **ERRORS})
@decorate_view(idempotent)
def run_reject(request: HttpRequest, run_id: int) -> dict[str, Any]:
    user = _planner(request)
    return _out(services.allocation_run_reject(run=_run(run_id), actor=user))
