"""The planners' allocation pages (under ``/staff/allocations/``): the runs of each city and a
form to start one; a run's progress, objective, per-store and per-SKU outcome with a fill-rate
chart; approve (→ transfers, once) or reject.

Planners and admins only: the pages go through ``staff_page`` (login; store, warehouse and
channel users get a 403 page). A service's refusal (no plan, already decided) is shown in the
page with its code, never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from django import forms
from django.db import transaction
from django.db.models import Count, Max, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRefresh

from allocation import optimizer as opt
from allocation import services
from allocation.errors import AllocationAlreadyDecided
from allocation.models import AllocationLine, AllocationRun, RunDecision, RunStatus
from allocation.tasks import allocation_run_task
from inventory.models import Location, LocationKind, Transfer
from omni.errors import ApplicationError, UnknownCity
from omni.models import City
from omni.selectors import city_by_code
from staff.charts.allocation import fill_rate_chart_svg
from staff.views.common import Notice, Staff, planner_page

ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)
TOP_SKUS = 50
RUNS_PER_CITY = 20


# Labels and progress lines the allocation models and services store in English, for the
# templates' ``{% translate run.get_status_display %}`` and the like.
STORED_WORDS = (
    _("Queued"),
    _("Running"),
    _("Optimal"),
    _("Feasible (gap to the best bound reported)"),
    _("Infeasible"),
    _("Timed out without a plan"),
    _("Failed"),
    _("Pending review"),
    _("Approved (transfers created)"),
    _("Rejected"),
    pgettext_lazy("transfer status", "Draft"),
    pgettext_lazy("transfer status", "Approved (reserved at source)"),
    pgettext_lazy("transfer status", "Dispatched (in transit)"),
    pgettext_lazy("transfer status", "Received"),
    pgettext_lazy("transfer status", "Cancelled"),
    _("reading stock, forecasts and transfers"),
    _("saving the plan"),
    _("optimal"),
    _("feasible"),
    _("infeasible"),
    _("timeout"),
)

METHOD_LABELS = {
    "auto": _("Automatic"),
    "exact": _("Exact (MIP)"),
    "fast": _("Fast (LP, round, repair)"),
}
METHOD_CHOICES = [(m, METHOD_LABELS.get(m, m)) for m in opt.METHODS]


class StartRunForm(forms.Form):
    city = forms.ChoiceField(label=_("City"))
    service_level = forms.FloatField(
        label=_("Service level"), min_value=0.5, max_value=0.9999, initial=0.9
    )
    time_limit = forms.FloatField(
        label=_("Time limit (seconds)"), min_value=1, max_value=3600, initial=60
    )
    method = forms.ChoiceField(label=_("Method"), choices=METHOD_CHOICES, initial="auto")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cities = City.objects.filter(
            locations__kind=LocationKind.WAREHOUSE, locations__active=True
        ).distinct()
        city_field = self.fields["city"]
        assert isinstance(city_field, forms.ChoiceField)
        city_field.choices = [(c.code, c.name) for c in cities.order_by("name")]


@require_http_methods(["GET", "POST"])
@planner_page("allocations")
def run_list(request: HttpRequest, staff: Staff) -> HttpResponse:
    form = StartRunForm(request.POST or None)
    notice: Notice | None = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                city = city_by_code(data["city"])
            except UnknownCity as exc:
                raise Http404("no such city") from exc
            parameters = {
                "service_level": data["service_level"],
                "time_limit": data["time_limit"],
                "method": data["method"],
            }
            try:
                with transaction.atomic():
                    run = services.allocation_run_create(
                        city=city, parameters=parameters, actor=staff.user
                    )
                    # robust: a run that fails records why on its row (shown on its page);
                    # with eager Celery the failure must not turn this answer into a 500.
                    transaction.on_commit(partial(allocation_run_task.delay, run.pk), robust=True)
            except ApplicationError as exc:
                notice, status = Notice.failure(exc), exc.http_status
            else:
                return redirect("allocation:run", run_id=run.pk)
        else:
            status = 422
    return render(
        request,
        "allocation/runs.html",
        {
            "staff": staff,
            "form": form,
            "notice": notice,
            "cities": _runs_by_city(request.GET.get("city", "")),
            "city_filter": request.GET.get("city", ""),
        },
        status=status,
    )


@require_http_methods(["GET"])
@planner_page("allocations")
def run_detail(request: HttpRequest, staff: Staff, run_id: int) -> HttpResponse:
    return _render_run(request, staff, _run_or_404(run_id))


@require_http_methods(["GET"])
@planner_page("allocations")
def run_progress(request: HttpRequest, staff: Staff, run_id: int) -> HttpResponse:
    """The progress panel htmx polls while a run is queued or running; once it ends, the page
    reloads to show the outcome."""
    run = _run_or_404(run_id)
    active = run.status in ACTIVE_STATUSES
    if not active and request.GET.get("active"):
        return HttpResponseClientRefresh()
    return render(request, "allocation/_progress.html", {"run": run, "active": active})


@require_http_methods(["GET"])
@planner_page("allocations")
def run_chart(request: HttpRequest, staff: Staff, run_id: int) -> HttpResponse:
    """``chart.svg``: the fill-rate chart alone, as an SVG image."""
    run = _run_or_404(run_id)
    stores, _skus = _outcome(run)
    chart = _chart(run, stores)
    if not chart:
        raise Http404("no plan to chart")
    return HttpResponse(chart, content_type="image/svg+xml")


@require_http_methods(["POST"])
@planner_page("allocations")
def run_approve(request: HttpRequest, staff: Staff, run_id: int) -> HttpResponse:
    run = _run_or_404(run_id)
    try:
        _require_pending(run)
        services.allocation_run_approve(run=run, actor=staff.user)
    except ApplicationError as exc:
        run.refresh_from_db()
        return _render_run(request, staff, run, Notice.failure(exc), status=exc.http_status)
    return redirect("allocation:run", run_id=run.pk)


@require_http_methods(["POST"])
@planner_page("allocations")
def run_reject(request: HttpRequest, staff: Staff, run_id: int) -> HttpResponse:
    run = _run_or_404(run_id)
    try:
        _require_pending(run)
        services.allocation_run_reject(run=run, actor=staff.user)
    except ApplicationError as exc:
        run.refresh_from_db()
        return _render_run(request, staff, run, Notice.failure(exc), status=exc.http_status)
    return redirect("allocation:run", run_id=run.pk)


def _require_pending(run: AllocationRun) -> None:
    """The services answer a repeated decision quietly (approving twice returns the same
    transfers); a planner pressing the button again is told the run was decided already."""
    if run.decision != RunDecision.PENDING:
        raise AllocationAlreadyDecided(run, again=True)


def _run_or_404(run_id: int) -> AllocationRun:
    run = (
        AllocationRun.objects.select_related("city", "created_by", "decided_by")
        .filter(pk=run_id)
        .first()
    )
    if run is None:
        raise Http404("no such run")
    return run


def percent(rate: float | None) -> str:
    """0.9734 → "97.3%"; no rate (nothing needed, or no plan) → "—"."""
    return "—" if rate is None else f"{rate * 100:.1f}%"


@dataclass
class RunRow:
    run: AllocationRun

    @property
    def fill_rate(self) -> str:
        return percent(self.run.total_fill_rate)


def _runs_by_city(city_code: str) -> list[tuple[City, list[RunRow]]]:
    """The latest runs of each city (or of one city), cities by name."""
    cities = City.objects.filter(pk__in=AllocationRun.objects.values("city_id")).order_by("name")
    if city_code:
        cities = cities.filter(code=city_code)
    return [
        (
            city,
            [
                RunRow(run)
                for run in AllocationRun.objects.filter(city=city).select_related("created_by")[
                    :RUNS_PER_CITY
                ]
            ],
        )
        for city in cities
    ]


@dataclass
class StoreRow:
    code: str
    name: str
    need: int = 0
    units: int = 0
    unmet: int = 0
    transfer_cost: float = 0.0
    fill_rate: float | None = None

    @property
    def fill_percent(self) -> str:
        return percent(self.fill_rate)


@dataclass
class SkuRow:
    sku: str
    need: int = 0
    units: int = 0
    unmet: int = 0

    @property
    def fill_percent(self) -> str:
        return percent((self.need - self.unmet) / self.need if self.need else None)


def _outcome(run: AllocationRun) -> tuple[list[StoreRow], list[SkuRow]]:
    """Per store and per SKU (the most unmet first): need, units shipped, unmet need.

    A (SKU, store) shipped from several sources has one line per source, each carrying the
    pair's need and unmet: those are counted once per pair, the units summed."""
    pairs = (
        AllocationLine.objects.filter(run=run)
        .values_list("product__sku", "store_id")
        .annotate(need=Max("need"), unmet=Max("unmet"), units=Sum("units"))
    )
    by_store: dict[int, StoreRow] = {}
    by_sku: dict[str, SkuRow] = {}
    for sku, store_id, need, unmet, units in pairs.iterator(chunk_size=5000):
        store_row = by_store.setdefault(store_id, StoreRow(code="", name=""))
        sku_row = by_sku.setdefault(sku, SkuRow(sku=sku))
        for row in (store_row, sku_row):
            row.need += need
            row.unmet += unmet
            row.units += units or 0
    stores = Location.objects.in_bulk(list(by_store))
    for store_id, row in by_store.items():
        row.code, row.name = stores[store_id].code, stores[store_id].name
    # transfer cost: units shipped on each lane × the lane's cost per unit in the problem
    cost = (run.inputs or {}).get("cost", {})
    codes = {loc.code: store_id for store_id, loc in stores.items()}
    lanes = (
        AllocationLine.objects.filter(run=run, source__isnull=False)
        .values_list("source__code", "store__code")
        .annotate(units=Sum("units"))
    )
    for source_code, store_code, units in lanes:
        per_unit = float(cost.get(source_code, {}).get(store_code) or 0.0)
        if store_code in codes:
            by_store[codes[store_code]].transfer_cost += per_unit * (units or 0)
    for row in by_store.values():
        saved = (run.fill_rate or {}).get(row.code)
        if run.has_plan:
            row.fill_rate = (
                saved
                if saved is not None
                else ((row.need - row.unmet) / row.need if row.need else None)
            )
    top = sorted(by_sku.values(), key=lambda r: (-r.unmet, -r.need, r.sku))[:TOP_SKUS]
    return sorted(by_store.values(), key=lambda r: r.code), top


def _chart(run: AllocationRun, stores: list[StoreRow]) -> str:
    charted = [row for row in stores if row.fill_rate is not None]
    if not run.has_plan or not charted:
        return ""
    return fill_rate_chart_svg(
        title=gettext("Fill rate per store · %(city)s · allocation run %(run)s")
        % {"city": run.city.name, "run": run.pk},
        stores=[row.code for row in charted],
        fill_rates=[float(row.fill_rate or 0.0) for row in charted],
    )


def _render_run(
    request: HttpRequest,
    staff: Staff,
    run: AllocationRun,
    notice: Notice | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    stores, skus = _outcome(run) if run.status not in ACTIVE_STATUSES else ([], [])
    transfers = (
        Transfer.objects.filter(reference=run.reference)
        .select_related("source", "destination")
        .annotate(line_count=Count("lines"), units=Sum("lines__quantity"))
        .order_by("destination__code", "pk")
    )
    parameters = dict(run.parameters or {})
    lead_days = parameters.pop("lead_days_per_store", {})
    context = {
        "staff": staff,
        "run": run,
        "notice": notice,
        "active": run.status in ACTIVE_STATUSES,
        "can_approve": run.decision == RunDecision.PENDING and run.has_plan,
        "can_reject": run.decision == RunDecision.PENDING and run.status not in ACTIVE_STATUSES,
        "parameters": sorted(parameters.items()),
        "lead_days": sorted(lead_days.items()),
        "gap": percent(run.gap),
        "terms": sorted((run.terms or {}).items()),
        "timings": list((run.timings or {}).items()),
        "stores": stores,
        "totals": StoreRow(
            code="",
            name="",
            need=sum(r.need for r in stores),
            units=sum(r.units for r in stores),
            unmet=sum(r.unmet for r in stores),
            transfer_cost=sum(r.transfer_cost for r in stores),
            fill_rate=run.total_fill_rate,
        ),
        "skus": skus,
        "top_skus": TOP_SKUS,
        "chart": _chart(run, stores),
        "transfers": list(transfers),
    }
    return render(request, "allocation/run.html", context, status=status)
