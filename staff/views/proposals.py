"""The planners' replenishment proposal pages (under ``/staff/purchasing/proposals/``): the runs
of each city and a form to start one; a run's lines with the parts of each position and why it
buys, the quantity edited inline (htmx, one row at a time), approve (→ draft purchase orders,
one per supplier × ship-to, once) or reject.

Planners and admins only (``planner_page``). A service's refusal is shown in the page as a
sentence (``Notice.failure``), never a 500.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from inventory.models import LocationKind
from omni.errors import ApplicationError, UnknownCity
from omni.models import City
from omni.selectors import city_by_code
from purchasing.proposal_models import (
    ProposalDecision,
    ProposalLine,
    ProposalStatus,
    ReplenishmentRun,
)
from purchasing.proposals import selectors, services
from purchasing.proposals.errors import ProposalAlreadyDecided, UnknownProposalRun
from purchasing.tasks import replenishment_run_task
from staff.views.common import Notice, Staff, planner_page

LINES_PER_PAGE = 100
RUNS_SHOWN = 30

# Labels the proposal models store in English, for ``{% translate run.get_status_display %}``.
STORED_WORDS = (
    _("Queued"),
    _("Running"),
    _("Ready for review"),
    _("Failed"),
    _("Pending review"),
    _("Approved (purchase orders created)"),
    _("Rejected"),
    _("unconstrained"),
    _("optimal"),
    _("feasible"),
    _("timeout"),
)


class StartProposalForm(forms.Form):
    city = forms.ChoiceField(label=_("City"))
    service_level = forms.FloatField(
        label=_("Service level"), min_value=0.5, max_value=0.9999, initial=0.95
    )
    review_days = forms.IntegerField(
        label=_("Review period (days)"), min_value=1, max_value=365, initial=7
    )
    budget = forms.DecimalField(
        label=_("Budget"), min_value=0, max_digits=14, decimal_places=2, required=False
    )
    capacity = forms.FloatField(label=_("DC capacity (units)"), min_value=0, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cities = City.objects.filter(
            locations__kind=LocationKind.WAREHOUSE, locations__active=True
        ).distinct()
        field = self.fields["city"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(c.code, c.name) for c in cities.order_by("name")]


class LineFilterForm(forms.Form):
    sku = forms.CharField(label=_("SKU"), required=False, max_length=64)
    show = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[("buying", _("Lines that buy")), ("all", _("All lines"))],
    )


@require_http_methods(["GET", "POST"])
@planner_page("proposals")
def run_list(request: HttpRequest, staff: Staff) -> HttpResponse:
    form = StartProposalForm(request.POST or None)
    notice: Notice | None = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                city = city_by_code(data["city"])
            except UnknownCity as exc:
                raise Http404("no such city") from exc
            try:
                with transaction.atomic():
                    run = services.replenishment_run_create(
                        city=city,
                        service_level=data["service_level"],
                        review_days=data["review_days"],
                        budget=data["budget"],
                        capacity=data["capacity"],
                        actor=staff.user,
                    )
                    # robust: a failed run records why on its row (shown on its page)
                    transaction.on_commit(
                        partial(replenishment_run_task.delay, run.pk), robust=True
                    )
            except ApplicationError as exc:
                notice, status = Notice.failure(exc), exc.http_status
            else:
                return redirect("purchasing:proposal", run_id=run.pk)
        else:
            status = 422
    runs = list(selectors.replenishment_run_list().select_related("created_by")[:RUNS_SHOWN])
    totals = {run.pk: selectors.run_totals(run) for run in runs}
    return render(
        request,
        "purchasing/proposals.html",
        {
            "staff": staff,
            "form": form,
            "notice": notice,
            "rows": [(run, totals[run.pk]) for run in runs],
        },
        status=status,
    )


def _run_or_404(run_id: int) -> ReplenishmentRun:
    try:
        return selectors.replenishment_run_get(run_id)
    except UnknownProposalRun as exc:
        raise Http404("no such proposal") from exc


@require_http_methods(["GET"])
@planner_page("proposals")
def run_detail(request: HttpRequest, staff: Staff, run_id: int) -> HttpResponse:
    return _render_run(request, staff, _run_or_404(run_id))


def _render_run(
    request: HttpRequest,
    staff: Staff,
    run: ReplenishmentRun,
    notice: Notice | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    filters = LineFilterForm(request.GET or None)
    sku, show = "", "buying"
    if filters.is_valid():
        sku = filters.cleaned_data["sku"] or ""
        show = filters.cleaned_data["show"] or "buying"
    lines = selectors.proposal_line_list(
        run, sku=sku or None, buying=True if show == "buying" else None
    ).order_by("location__code", "supplier__code", "product__sku")
    page = Paginator(lines, LINES_PER_PAGE).get_page(request.GET.get("page"))
    editable = run.decision == ProposalDecision.PENDING and run.status == ProposalStatus.READY
    query = f"sku={sku}&show={show}" if sku else f"show={show}"
    context = {
        "staff": staff,
        "run": run,
        "notice": notice,
        "filters": filters,
        "page": page,
        "query": query,
        "editable": editable,
        "active": run.status in (ProposalStatus.QUEUED, ProposalStatus.RUNNING),
        "totals": selectors.run_totals(run),
        "by_supplier": selectors.run_by_supplier(run),
        "orders": services.replenishment_run_purchase_orders(run),
    }
    return render(request, "purchasing/proposal.html", context, status=status)


@require_http_methods(["POST"])
@planner_page("proposals")
def line_edit(request: HttpRequest, staff: Staff, run_id: int, line_id: int) -> HttpResponse:
    """The planner's quantity for one line; answers the line's row (htmx) or the page."""
    run = _run_or_404(run_id)
    try:
        line = selectors.proposal_line_get(run, line_id)
    except ApplicationError as exc:
        raise Http404("no such line") from exc
    notice: Notice | None = None
    status = 200
    raw = (request.POST.get("quantity") or "").strip()
    try:
        quantity = int(raw)
    except ValueError:
        notice = Notice(ok=False, message=gettext("Enter a whole number of units, or 0."))
        status = 422
    else:
        try:
            line = services.proposal_line_edit(line=line, quantity=quantity, actor=staff.user)
        except ApplicationError as exc:
            notice, status = Notice.failure(exc), exc.http_status
        else:
            notice = Notice.success(gettext("Saved."))
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect("purchasing:proposal", run_id=run.pk)
    line = ProposalLine.objects.select_related("product", "location", "supplier").get(pk=line.pk)
    run.refresh_from_db()
    editable = run.decision == ProposalDecision.PENDING and run.status == ProposalStatus.READY
    return render(
        request,
        "purchasing/_proposal_line.html",
        {"run": run, "line": line, "editable": editable, "row_notice": notice},
        status=status,
    )


@require_http_methods(["POST"])
@planner_page("proposals")
def run_approve(request: HttpRequest, staff: Staff, run_id: int) -> HttpResponse:
    run = _run_or_404(run_id)
    try:
        if run.decision != ProposalDecision.PENDING:
            raise ProposalAlreadyDecided(run)
        services.replenishment_run_approve(run=run, actor=staff.user)
    except ApplicationError as exc:
        run.refresh_from_db()
        return _render_run(request, staff, run, Notice.failure(exc), status=exc.http_status)
    return redirect("purchasing:proposal", run_id=run.pk)


@require_http_methods(["POST"])
@planner_page("proposals")
def run_reject(request: HttpRequest, staff: Staff, run_id: int) -> HttpResponse:
    run = _run_or_404(run_id)
    try:
        if run.decision != ProposalDecision.PENDING:
            raise ProposalAlreadyDecided(run)
        services.replenishment_run_reject(run=run, actor=staff.user)
    except ApplicationError as exc:
        run.refresh_from_db()
        return _render_run(request, staff, run, Notice.failure(exc), status=exc.http_status)
    return redirect("purchasing:proposal", run_id=run.pk)
