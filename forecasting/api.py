"""The forecasting router: forecast runs (start, status and progress, accuracy, cancel, re-run)
and forecasts per SKU × location × day. Planners and admins start runs and read everything;
store and warehouse staff read the forecasts of their own locations; a channel gets nothing.

No ``from __future__ import annotations`` here: ninja resolves the parameter annotations
(``Query[...]``) at import time.
"""

from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Status
from ninja.decorators import decorate_view
from ninja.pagination import paginate

from omni.access import current_user, reads_everything
from omni.errors import RoleNotAllowed
from omni.idempotency import idempotent
from omni.models import Role, User
from omni.pagination import CursorPagination
from omni.schemas import ErrorOut, QuerySchema
from omni.selectors import city_by_code

from . import selectors, services
from .models import ForecastRun, RunStatus
from .schemas import (
    ForecastRunIn,
    ForecastRunOut,
    RunAccuracyOut,
    SeriesAccuracyOut,
    SeriesForecastOut,
)

router = Router(tags=["forecasting"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
MAX_NAMED = 200  # SKUs or locations one forecast query may name


def require_planner(user: User) -> None:
    """Runs and accuracy are the planners' (and admins')."""
    if not reads_everything(user):
        raise RoleNotAllowed(user, _("planners and administrators only"))


def require_forecast_reader(user: User) -> None:
    if user.role == Role.CHANNEL and not user.is_admin_role:
        raise RoleNotAllowed(user, _("forecasts are for staff"))


# --------------------------------------------------------------------------- runs


@router.post("/forecast-runs", response={202: ForecastRunOut, **ERRORS})
@decorate_view(idempotent)
def forecast_run_start(request: HttpRequest, payload: ForecastRunIn) -> Status:
    """Start a forecast run of a city (or of every city). It runs as a background job: follow
    ``status`` and ``progress`` at ``GET /forecast-runs/{id}``."""
    user = current_user(request)
    require_planner(user)
    city = city_by_code(payload.city) if payload.city else None
    run = services.forecast_run_start(
        city=city,
        horizon=payload.horizon,
        models=payload.models,
        quantiles=payload.quantiles,
        as_of=payload.as_of,
        actor=user,
    )
    return Status(202, selectors.forecast_run_get(run.pk))


class RunFilter(QuerySchema):
    status: RunStatus | None = None
    city: str | None = None


@router.get("/forecast-runs", response={200: list[ForecastRunOut], **ERRORS})
@paginate(CursorPagination, ordering=("-id",))
def forecast_run_list(request: HttpRequest, filters: Query[RunFilter]) -> object:
    require_planner(current_user(request))
    return selectors.forecast_run_list(**filters.dict())


@router.get("/forecast-runs/{run_id}", response={200: ForecastRunOut, **ERRORS})
def forecast_run_detail(request: HttpRequest, run_id: int) -> ForecastRun:
    """A run's status, progress (percent and message) and, once succeeded, its accuracy."""
    require_planner(current_user(request))
    return selectors.forecast_run_get(run_id)


@router.post("/forecast-runs/{run_id}/cancel", response={200: ForecastRunOut, **ERRORS})
@decorate_view(idempotent)
def forecast_run_cancel(request: HttpRequest, run_id: int) -> ForecastRun:
    """Stop a queued or running run; its partial rows are dropped."""
    user = current_user(request)
    require_planner(user)
    services.forecast_run_cancel(run=selectors.forecast_run_get(run_id), actor=user)
    return selectors.forecast_run_get(run_id)


@router.post("/forecast-runs/{run_id}/rerun", response={202: ForecastRunOut, **ERRORS})
@decorate_view(idempotent)
def forecast_run_rerun(request: HttpRequest, run_id: int) -> Status:
    """A new run with the same parameters, e.g. after a run whose worker died."""
    user = current_user(request)
    require_planner(user)
    run = services.forecast_run_rerun(run=selectors.forecast_run_get(run_id), actor=user)
    return Status(202, selectors.forecast_run_get(run.pk))


@router.get("/forecast-runs/{run_id}/accuracy", response={200: RunAccuracyOut, **ERRORS})
def forecast_run_accuracy(request: HttpRequest, run_id: int) -> dict[str, Any]:
    """Backtest accuracy of a succeeded run: per model, for the choice made per series, and
    against weekly seasonal naive."""
    require_planner(current_user(request))
    run = selectors.forecast_run_get(run_id)
    selectors.require_succeeded(run)
    return {**run.summary, "run": run.pk, "as_of": run.as_of, "horizon": run.horizon}


class SeriesFilter(QuerySchema):
    model: str | None = None
    method: str | None = None
    sku: str | None = None
    location: str | None = None


@router.get("/forecast-runs/{run_id}/series", response={200: list[SeriesAccuracyOut], **ERRORS})
@paginate(CursorPagination, ordering=("id",))
def forecast_run_series(request: HttpRequest, run_id: int, filters: Query[SeriesFilter]) -> object:
    """Per series of a succeeded run: the model chosen, how, and its backtest accuracy."""
    require_planner(current_user(request))
    run = selectors.forecast_run_get(run_id)
    selectors.require_succeeded(run)
    return selectors.run_series_list(run, **filters.dict())


# --------------------------------------------------------------------------- forecasts

Named = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=MAX_NAMED)
]


class ForecastQuery(QuerySchema):
    sku: Named = []
    location: Named = []
    run: int | None = None  # a succeeded run; default: each location's current run


@router.get("/forecasts", response={200: list[SeriesForecastOut], **ERRORS})
@paginate(CursorPagination, ordering=("id",))
def forecast_list(request: HttpRequest, query: Query[ForecastQuery]) -> object:
    """Point forecasts and quantiles per day for SKU(s) × location(s) (``?sku=A&sku=B&
    location=S01``), from each location's current forecast: the latest succeeded run of its
    city. Store and warehouse staff see their own locations only."""
    user = current_user(request)
    require_forecast_reader(user)
    run = None
    if query.run is not None:
        require_planner(user)  # before the lookup: staff learn nothing of which runs exist
        run = selectors.forecast_run_get(query.run)
    return selectors.forecast_series_list(
        user=user, skus=query.sku, locations=query.location, run=run
    )
