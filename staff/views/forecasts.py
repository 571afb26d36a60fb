"""The planners' forecast pages (under ``/staff/forecasts/``): the runs with their progress, a
run's accuracy and the blend of models it chose (its weights per segment, and why), and for a
SKU × store a chart of history, forecast and interval, with the quantiles of its window totals.

Planners and admins only; everyone else signed in gets a 403 page. Pages extend the staff
layout (``staff/base.html``) through the one role guard (``common.planner_page``).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django import forms
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext, pgettext_lazy
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
from staff.views.common import Notice, Staff, planner_page

CHART_WORDS = {
    "sold": _("sold per day"),
    "capped": _("capped"),
    "forecast": _("forecast"),
    "units": _("units per day"),
    "cumulative": _("forecast, summed from the first day"),
    # %(range)s is the quantiles' names, "q50–q95".
    "window_band": _("window total %(range)s"),
    "days_ahead": _("days from the first forecast day"),
    "window_units": _("units in the window"),
}
GLOBAL_SEGMENT = "*"  # a blend segment: every series of the run
# The demand classes a run pools series by (the SBC classes of ``forecasting.engine.hygiene``).
DEMAND_CLASSES = {
    "smooth": pgettext_lazy("demand class", "smooth"),
    "erratic": pgettext_lazy("demand class", "erratic"),
    "intermittent": pgettext_lazy("demand class", "intermittent"),
    "lumpy": pgettext_lazy("demand class", "lumpy"),
    "none": pgettext_lazy("demand class", "no sales"),
}
# How a series' forecast was made (``ForecastSeries.method``).
METHODS = {
    "backtest": _("Validated on its history"),
    "short_history": _("Too little history to validate: a moving average"),
    "idle": _("Idle: no recent sales, so zero"),
}
# One colour per candidate model, the same in every weight bar on the page.
MODEL_COLOURS = {
    "seasonal_naive": "#98a2b3",
    "ets": "#1f5fae",
    "theta": "#027a48",
    "tsb": "#b36b00",
    "lightgbm": "#7a3fb0",
}
OTHER_COLOUR = "#5b6470"
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
    notice: Notice | None = None
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["city"]
        try:
            city = city_by_code(code) if code else None
            run = services.forecast_run_start(
                city=city, horizon=form.cleaned_data["horizon"], actor=staff.user
            )
            return redirect("forecasting:run", run_id=run.pk)
        except ApplicationError as exc:
            notice = Notice.failure(exc)
    runs = list(selectors.forecast_run_list().select_related("created_by")[:50])
    return render(
        request,
        "forecasting/runs.html",
        {"staff": staff, "form": form, "runs": runs, "notice": notice},
        status=409 if notice is not None else 200,
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
    summary = run.summary or {}
    context: dict[str, Any] = {
        "staff": staff,
        "run": run,
        "summary": summary,
        "message": selectors.run_status_message(run),
        "origins": _origins(summary),
        "blends": _blend_rows(summary),
        "per_model": _model_rows(summary),
        "min_segment_series": (run.options or {}).get("min_segment_series"),
        "demand_classes": DEMAND_CLASSES,
        "sku": sku,
        "location": location,
        "series": series,
        "chart": _chart(run, series) if series is not None else "",
        "day_rows": _day_rows(series) if series is not None else [],
        "chart_error": chart_error,
    }
    if series is not None:
        context |= _series_context(series)
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


@dataclass(frozen=True)
class Share:
    """One model's weight in a blend, as the page draws it."""

    model: str
    weight: float
    colour: str

    @property
    def percent(self) -> float:
        return round(100 * self.weight, 1)


@dataclass(frozen=True)
class BlendRow:
    """A segment of the run's blend: its series, weights and scores (a ``RunSummary`` blend)."""

    segment: str  # "*" or a demand class
    label: str
    series: int
    shares: list[Share]
    validation_rmsse: float | None
    own_held_out: float | None  # its own weights', chosen without the scored origin
    run_held_out: float | None  # the run's weights', the same way
    own: bool  # the segment uses weights of its own

    @property
    def is_run(self) -> bool:
        return self.segment == GLOBAL_SEGMENT


def _shares(weights: dict[str, float] | None) -> list[Share]:
    """The weights, heaviest first."""
    ordered = sorted((weights or {}).items(), key=lambda item: (-item[1], item[0]))
    return [
        Share(model=name, weight=float(w), colour=MODEL_COLOURS.get(name, OTHER_COLOUR))
        for name, w in ordered
        if w > 0
    ]


def _segment_label(segment: str) -> str:
    if segment == GLOBAL_SEGMENT:
        return str(_("All series"))
    return str(DEMAND_CLASSES.get(segment, segment))


def _origins(summary: dict[str, Any]) -> list[date]:
    return [date.fromisoformat(day) for day in summary.get("origins") or []]


def _blend_rows(summary: dict[str, Any]) -> list[BlendRow]:
    """The run's blend first, then each demand class in the classes' order. Empty for a run
    made before blends (it chose one model per series)."""
    order = [GLOBAL_SEGMENT, *DEMAND_CLASSES]
    blends = sorted(
        summary.get("blends") or [],
        key=lambda b: order.index(b["segment"]) if b["segment"] in order else len(order),
    )
    rows = []
    for blend in blends:
        segment = blend["segment"]
        is_run = segment == GLOBAL_SEGMENT
        rows.append(
            BlendRow(
                segment=segment,
                label=_segment_label(segment),
                series=blend.get("series", 0),
                shares=_shares(blend.get("weights")),
                validation_rmsse=blend.get("validation_rmsse"),
                # The run's own held-out score is that of the run's weights.
                own_held_out=None if is_run else blend.get("held_out_rmsse"),
                run_held_out=blend.get("held_out_rmsse" if is_run else "global_held_out_rmsse"),
                own=bool(blend.get("own")) and not is_run,
            )
        )
    return rows


def _model_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-model rows with each model's colour; ``weight`` is None in runs made before
    blends."""
    return [
        {
            **row,
            "weight": row.get("weight"),
            "colour": MODEL_COLOURS.get(row["model"], OTHER_COLOUR),
        }
        for row in summary.get("per_model") or []
    ]


@dataclass(frozen=True)
class WindowRow:
    """The total demand over the first ``days`` forecast days: the point forecast's sum and
    the quantiles of the total."""

    days: int
    total: float
    quantiles: list[float]
    about: int  # the median total, rounded: what the page says it will be "about"
    at_most: int  # the highest quantile, rounded up: "at most … that often"


def _quantile_order(names: Any) -> list[str]:
    """Quantile names (``q50``, ``q97.5`` …) by level: JSON storage may reorder them."""
    return sorted((n for n in names if n != "total"), key=lambda name: float(name[1:]))


def _window_rows(series: ForecastSeries) -> tuple[list[str], list[WindowRow]]:
    windows = {int(days): totals for days, totals in (series.window or {}).items()}
    if not windows:
        return [], []
    names = _quantile_order(next(iter(windows.values())))
    rows = []
    for days, totals in sorted(windows.items()):
        middle = totals.get("q50", totals["total"])
        high = totals[names[-1]] if names else totals["total"]
        rows.append(
            WindowRow(
                days=days,
                total=totals["total"],
                quantiles=[totals[name] for name in names],
                about=round(middle),
                # A hair of rounding noise must not make "at most 31" say 32.
                at_most=math.ceil(round(high, 6)),
            )
        )
    return names, rows


def _series_context(series: ForecastSeries) -> dict[str, Any]:
    names, rows = _window_rows(series)
    longest = rows[-1] if rows else None
    level = names[-1][1:] if names else ""
    return {
        "day_names": _quantile_order(series.quantiles),
        "series_shares": _shares(series.weights),
        "series_segment": _segment_label(series.segment) if series.segment else "",
        "series_class": _segment_label(series.demand_class) if series.demand_class else "",
        "series_method": METHODS.get(series.method, series.method),
        "window_names": names,
        "window_rows": rows,
        "window_longest": longest,
        "window_level": level,
    }


def _day_rows(series: ForecastSeries) -> list[tuple[date, float, list[float]]]:
    names = _quantile_order(series.quantiles)
    return [
        (day, series.values[i], [series.quantiles[name][i] for name in names])
        for i, day in enumerate(series.days())
    ]


def _chart(run: ForecastRun, series: ForecastSeries) -> str:
    until = series.start - timedelta(days=1)
    start, history = selectors.demand_series(
        product=series.product, location=series.location, until=until, days=HISTORY_DAYS
    )
    names = _quantile_order(series.quantiles)
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
        windows={int(days): totals for days, totals in (series.window or {}).items()},
        words={key: str(word) for key, word in CHART_WORDS.items()},
    )
