"""The planners' forecast pages (under ``/staff/forecasts/``): the runs with their progress, a
run's accuracy, and for a SKU × store a chart of history, forecast and interval.

Planners and admins only; everyone else signed in gets a 403 page. Pages extend the staff
layout (``staff/base.html``) through the one role guard (``common.planner_page``).
"""

from __future__ import annotations

import contextlib
from datetime import date, timedelta
from typing import Any

from django import forms
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRefresh

from forecasting import selectors, services
from forecasting.models import ForecastRun, ForecastSeries, RunStatus
from inventory.models import PHYSICAL_KINDS, Location
from omni.errors import ApplicationError
from omni.models import City
from omni.selectors import city_by_code
from staff.charts.forecast import HISTORY_DAYS, forecast_chart_svg
from staff.views.common import Staff, planner_page

CHART_WORDS = {
    "sold": _("sold per day"),
    "capped": _("capped"),
    "forecast": _("forecast"),
    "units": _("units per day"),
}
# A run's status labels (``RunStatus``): the templates say
# ``{% translate run.get_status_display %}``.
STATUS_WORDS = (_("Queued"), _("Running"), _("Succeeded"), _("Failed"), _("Cancelled"))


class StartRunForm(forms.Form):
    city = forms.ChoiceField(label=_("City"), required=False)
    horizon = forms.IntegerField(label=_("Horizon (days)"), min_value=1, max_value=366, initial=28)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cities = City.objects.filter(locations__kind__in=PHYSICAL_KINDS).distinct()
        city_field = self.fields["city"]
        assert isinstance(city_field, forms.ChoiceField)
        city_field.choices = [("", _("All cities"))] + [(c.code, c.name) for c in cities]


@planner_page("forecasts")
@require_http_methods(["GET", "POST"])
def run_list(request: HttpRequest, staff: Staff) -> HttpResponse:
    form = StartRunForm(request.POST or None)
    error: ApplicationError | None = None
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["city"]
        try:
            city = city_by_code(code) if code else None
            run = services.forecast_run_start(
                city=city, horizon=form.cleaned_data["horizon"], actor=staff.user
            )
            return redirect("forecasting:run", run_id=run.pk)
        except ApplicationError as exc:
            error = exc
    runs = list(selectors.forecast_run_list().select_related("created_by")[:50])
    return render(
        request,
        "forecasting/runs.html",
        {"staff": staff, "form": form, "runs": runs, "error": error},
        status=409 if error is not None else 200,
    )


@planner_page("forecasts")
def run_detail(request: HttpRequest, staff: Staff, run_id: int) -> HttpResponse:
    run = _run_or_404(run_id)
    sku = request.GET.get("sku", "").strip()
    location = request.GET.get("location", "").strip()
    series: ForecastSeries | None = None
    chart_error = ""
    if run.status == RunStatus.SUCCEEDED and sku and location:
        series = selectors.forecast_series_of(run, sku=sku, location=location)
        if series is None:
            chart_error = str(_("This run has no forecast for that SKU at that location."))
    context: dict[str, Any] = {
        "staff": staff,
        "run": run,
        "summary": run.summary or {},
        "message": selectors.run_status_message(run),
        "sku": sku,
        "location": location,
        "series": series,
        "chart": _chart(run, series) if series is not None else "",
        "day_rows": _day_rows(series) if series is not None else [],
        "chart_error": chart_error,
    }
    if run.status == RunStatus.SUCCEEDED:
        rows = selectors.run_series_list(run)
        context["worst"] = list(
            rows.filter(rmsse__isnull=False, baseline_rmsse__gt=0)
            .annotate(ratio=F("rmsse") / F("baseline_rmsse"))
            .order_by("-ratio")[:15]
        )
        context["capped"] = list(rows.exclude(capped=[]).order_by("product__sku")[:15])
        context["locations"] = list(
            Location.objects.filter(pk__in=rows.values("location_id")).order_by("code")
        )
    return render(request, "forecasting/run.html", context)


@planner_page("forecasts")
def run_progress(request: HttpRequest, staff: Staff, run_id: int) -> HttpResponse:
    """The progress panel htmx polls while a run is active; once it ends, the page reloads."""
    run = _run_or_404(run_id)
    if not run.is_active and request.GET.get("active"):
        return HttpResponseClientRefresh()
    return render(
        request,
        "forecasting/_progress.html",
        {"run": run, "message": selectors.run_status_message(run)},
    )


@planner_page("forecasts")
def run_chart(request: HttpRequest, staff: Staff, run_id: int) -> HttpResponse:
    """``chart.svg?sku=…&location=…``: the chart alone, as an SVG image."""
    run = _run_or_404(run_id)
    series = selectors.forecast_series_of(
        run, sku=request.GET.get("sku", ""), location=request.GET.get("location", "")
    )
    if run.status != RunStatus.SUCCEEDED or series is None:
        raise Http404("no such forecast")
    return HttpResponse(_chart(run, series), content_type="image/svg+xml")


@planner_page("forecasts")
@require_http_methods(["POST"])
def run_rerun(request: HttpRequest, staff: Staff, run_id: int) -> HttpResponse:
    run = _run_or_404(run_id)
    try:
        new = services.forecast_run_rerun(run=run, actor=staff.user)
    except ApplicationError:
        return redirect("forecasting:run", run_id=run.pk)
    return redirect("forecasting:run", run_id=new.pk)


@planner_page("forecasts")
@require_http_methods(["POST"])
def run_cancel(request: HttpRequest, staff: Staff, run_id: int) -> HttpResponse:
    run = _run_or_404(run_id)
    # A run that ended meanwhile cannot be cancelled; the page shows how it ended.
    with contextlib.suppress(ApplicationError):
        services.forecast_run_cancel(run=run, actor=staff.user)
    return redirect(reverse("forecasting:run", kwargs={"run_id": run.pk}))


def _run_or_404(run_id: int) -> ForecastRun:
    run = ForecastRun.objects.select_related("city", "created_by").filter(pk=run_id).first()
    if run is None:
        raise Http404("no such run")
    return run


def _day_rows(series: ForecastSeries) -> list[tuple[date, float, list[float]]]:
    names = list(series.quantiles)
    return [
        (day, series.values[i], [series.quantiles[name][i] for name in names])
        for i, day in enumerate(series.days())
    ]


def _chart(run: ForecastRun, series: ForecastSeries) -> str:
    until = series.start - timedelta(days=1)
    start, history = selectors.demand_series(
        product=series.product, location=series.location, until=until, days=HISTORY_DAYS
    )
    names = list(series.quantiles)
    band = None
    if len(names) >= 2:
        band = (names[0], series.quantiles[names[0]], names[-1], series.quantiles[names[-1]])
    elif names:
        band = (names[0], series.quantiles[names[0]], names[0], series.quantiles[names[0]])
    title = gettext("%(sku)s at %(location)s · %(model)s · run %(run)s") % {
        "sku": series.product.sku,
        "location": series.location.code,
        "model": series.model,
        "run": run.pk,
    }
    return forecast_chart_svg(
        title=title,
        history_start=start,
        history=history,
        forecast_start=series.start,
        forecast=series.values,
        band=band,
        capped=[date.fromisoformat(c["day"]) for c in series.capped],
        words={key: str(word) for key, word in CHART_WORDS.items()},
    )
