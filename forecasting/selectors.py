"""Reads of demand history and forecasts.

**Demand history** of a (SKU, location) per day is what left the location to customers —
``sale``, ``ship`` and ``pickup`` moves — less what customers brought back (``return`` moves),
floored at zero per day, by the location's local day. Days before a series' first ledger sale
come from imported files (``DemandRecord``): the history Omni inherited; from that day on the
ledger alone counts, so a re-import can never double what the ledger recorded.

**Current forecasts** are those of the latest succeeded run covering a location (a run of its
city or of all cities, whichever is newer). Rows of a run still running, failed or cancelled
are never served.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db.models import Max, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from inventory.models import (
    PHYSICAL_KINDS,
    Location,
    MoveReason,
    Product,
    Reservation,
    ReservationStatus,
    StockMove,
)
from inventory.selectors import location_visible
from omni.access import reads_everything, visible_one
from omni.models import City, User

from .engine import History, HistoryRows, SeriesKey, history_from_rows
from .engine.windows import spread
from .errors import ForecastRunNotReady, UnknownForecastRun
from .models import ALL_CITIES, DemandRecord, ForecastRun, ForecastSeries, RunStatus

DEMAND_REASONS = (MoveReason.SALE, MoveReason.SHIP, MoveReason.PICKUP)
# Orders whose lines hold stock somewhere: an item with such an order is never idled.


def scope_of(city: City | None) -> str:
    return city.code if city is not None else ALL_CITIES


def scope_locations(city: City | None) -> QuerySet[Location]:
    """The physical locations a run of ``city`` (None: every city) forecasts."""
    locations = Location.objects.filter(kind__in=PHYSICAL_KINDS)
    return locations.filter(city=city) if city is not None else locations


def local_today(city: City | None) -> date:
    zone = zoneinfo.ZoneInfo(city.timezone if city is not None else settings.TIME_ZONE)
    return timezone.now().astimezone(zone).date()


# --------------------------------------------------------------------------- demand history


@dataclass
class DemandHistory:
    """A run's input: the engine's history plus the ids behind its (SKU, location code) keys."""

    history: History
    product_ids: dict[str, int]
    location_ids: dict[str, int]

    def ids(self, key: SeriesKey) -> tuple[int, int]:
        return self.product_ids[key[0]], self.location_ids[key[1]]


SeriesIds = tuple[int, int]  # (product id, location id)


def demand_history(
    *,
    city: City | None = None,
    as_of: date | None = None,
    products: Sequence[int] | None = None,
    locations: Sequence[int] | None = None,
    series: Iterable[SeriesIds] | None = None,
) -> DemandHistory:
    """Daily demand of every (SKU, location) of the scope up to ``as_of``. Without ``as_of``:
    the last day with any demand in the scope, but never today or later (today is not over).
    ``series``: only these (product id, location id) pairs (a chunk of a run), read with one
    query per source restricted to their products and locations."""
    wanted = {(int(p), int(loc)) for p, loc in series} if series is not None else None
    if wanted is not None:
        of_products, of_locations = {p for p, _ in wanted}, {loc for _, loc in wanted}
        products = sorted(of_products if products is None else of_products & set(products))
        locations = sorted(of_locations if locations is None else of_locations & set(locations))
    scoped = scope_locations(city).select_related("city")
    if locations is not None:
        scoped = scoped.filter(pk__in=locations)
    location_rows = list(scoped)
    location_codes = {loc.pk: loc.code for loc in location_rows}
    if not location_rows:
        return _empty(as_of or local_today(city) - timedelta(days=1))

    imported = _imported(location_codes.keys(), products)
    ledger = _ledger(location_rows, products)
    if len(ledger):
        # From a series' first ledger sale on, only the ledger counts.
        cutover = ledger.groupby(["product", "location"])["day"].min().rename("cutover")
        imported = imported.join(cutover, on=["product", "location"])
        imported = imported[imported["cutover"].isna() | (imported["day"] < imported["cutover"])]
        imported = imported.drop(columns="cutover")
    frame = pd.concat([imported, ledger], ignore_index=True)
    if wanted is not None and not frame.empty:
        pairs = pd.MultiIndex.from_arrays([frame["product"], frame["location"]])
        frame = frame[pairs.isin(list(wanted))]
    if frame.empty:
        return _empty(as_of or local_today(city) - timedelta(days=1))

    latest = frame["day"].max().date()
    yesterday = local_today(city) - timedelta(days=1)
    resolved = as_of or min(latest, yesterday)
    product_ids = frame["product"].unique().tolist()
    skus = dict(Product.objects.filter(pk__in=product_ids).values_list("pk", "sku"))
    rows = HistoryRows(
        sku=frame["product"].map(skus).to_numpy(dtype=object),
        location=frame["location"].map(location_codes).to_numpy(dtype=object),
        day=frame["day"].to_numpy(dtype="datetime64[D]"),
        quantity=frame["quantity"].to_numpy(dtype=float),
        line=np.zeros(len(frame), dtype=np.int64),
        # Ledger days have none; a history with none at all carries none.
        price=_known(frame, "price"),
        promo=_known(frame, "promo"),
    )
    history = history_from_rows(rows, as_of=resolved)
    # The hierarchy above a location, for the global model: its city and what it is.
    above = {
        loc.code: {"region": loc.city.code if loc.city else "", "kind": loc.kind}
        for loc in location_rows
    }
    for one in history.series:
        one.attributes = dict(above.get(one.location, {}))
    return DemandHistory(
        history=history,
        product_ids={sku: pk for pk, sku in skus.items()},
        location_ids={code: pk for pk, code in location_codes.items()},
    )


@dataclass(frozen=True)
class DemandKeys:
    """What a run is split on: the series ``demand_history`` would return and its ``as_of``."""

    as_of: date
    series: list[SeriesIds]  # sorted by (product id, location id)


def demand_series_keys(*, city: City | None = None, as_of: date | None = None) -> DemandKeys:
    """The (product id, location id) of every series ``demand_history(city=city, as_of=as_of)``
    returns, and the ``as_of`` it resolves to, from a first and last day per series (aggregates
    in the database, never a row per day): a run's coordinator splits a city of millions of
    series without reading their history.

    Same rules as ``demand_history``: a series' first day is its first imported day or its first
    ledger sale, whichever is earlier; its last, the ledger's last sale or return (imported days
    count only before the first ledger sale), else its last imported day."""
    fallback = as_of or local_today(city) - timedelta(days=1)
    location_rows = list(scope_locations(city).select_related("city"))
    if not location_rows:
        return DemandKeys(as_of=fallback, series=[])
    spans: dict[SeriesIds, tuple[date, date]] = {}
    imported = (
        DemandRecord.objects.filter(location_id__in=[loc.pk for loc in location_rows])
        .values_list("product_id", "location_id")
        .annotate(first=Min("day"), last=Max("day"))
        .order_by()
    )
    for product_id, location_id, first, last in imported.iterator():
        spans[(product_id, location_id)] = (first, last)
    for zone, ids in _by_zone(location_rows).items():
        tz = zoneinfo.ZoneInfo(zone)
        sold = (
            StockMove.objects.filter(reason__in=DEMAND_REASONS, from_location_id__in=ids)
            .values_list("product_id", "from_location_id")
            .annotate(first=Min("created_at"), last=Max("created_at"))
            .order_by()
        )
        returned = dict(
            ((product_id, location_id), last.astimezone(tz).date())
            for product_id, location_id, last in StockMove.objects.filter(
                reason=MoveReason.RETURN, to_location_id__in=ids
            )
            .values_list("product_id", "to_location_id")
            .annotate(last=Max("created_at"))
            .order_by()
            .iterator()
        )
        for product_id, location_id, first_at, last_at in sold.iterator():
            key = (product_id, location_id)
            first, last = first_at.astimezone(tz).date(), last_at.astimezone(tz).date()
            back = returned.get(key)
            if back is not None and back >= first:  # a return after the first sale is a day
                last = max(last, back)
            earlier = spans.get(key)
            spans[key] = (min(first, earlier[0]) if earlier else first, last)
    if not spans:
        return DemandKeys(as_of=fallback, series=[])
    latest = max(last for _, last in spans.values())
    resolved = as_of or min(latest, local_today(city) - timedelta(days=1))
    keys = sorted(key for key, (first, _) in spans.items() if first <= resolved)
    return DemandKeys(as_of=resolved, series=keys)


def _by_zone(locations: Iterable[Location]) -> dict[str, list[int]]:
    """Location ids by the time zone their local days are counted in."""
    by_zone: dict[str, list[int]] = {}
    for location in locations:
        zone = location.city.timezone if location.city is not None else settings.TIME_ZONE
        by_zone.setdefault(zone, []).append(location.pk)
    return by_zone


def _known(frame: pd.DataFrame, name: str) -> np.ndarray | None:
    if name not in frame or not frame[name].notna().any():
        return None
    return frame[name].to_numpy(dtype=float)


def _empty(as_of: date) -> DemandHistory:
    return DemandHistory(history=History(series=[], as_of=as_of), product_ids={}, location_ids={})


def _frame(rows: Iterable[tuple[Any, ...]], extra: Sequence[str] = ()) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(
        list(rows), columns=["product", "location", "day", "quantity", *extra]
    )
    frame["day"] = pd.to_datetime(frame["day"])
    frame["quantity"] = frame["quantity"].astype(float)
    for name in extra:
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    return frame


def _imported(location_ids: Iterable[int], products: Sequence[int] | None) -> pd.DataFrame:
    """Imported demand, with the price and promotion of the day where the file had them."""
    records = DemandRecord.objects.filter(location_id__in=list(location_ids))
    if products is not None:
        records = records.filter(product_id__in=products)
    rows = records.values_list("product_id", "location_id", "day", "quantity", "price", "promo")
    return _frame(rows.iterator(), extra=("price", "promo"))


def _ledger(locations: list[Location], products: Sequence[int] | None) -> pd.DataFrame:
    """Net customer demand per (product, location, local day) from the ledger."""
    parts = []
    for zone, ids in _by_zone(locations).items():
        day = TruncDate("created_at", tzinfo=zoneinfo.ZoneInfo(zone))
        moves = StockMove.objects.all()
        if products is not None:
            moves = moves.filter(product_id__in=products)
        out = (
            moves.filter(reason__in=DEMAND_REASONS, from_location_id__in=ids)
            .annotate(day=day)
            .values_list("product_id", "from_location_id", "day")
            .annotate(total=Sum("quantity"))
            .order_by()
        )
        back = (
            moves.filter(reason=MoveReason.RETURN, to_location_id__in=ids)
            .annotate(day=day)
            .values_list("product_id", "to_location_id", "day")
            .annotate(total=Sum("quantity"))
            .order_by()
        )
        sold, returned = _frame(out.iterator()), _frame(back.iterator())
        if sold.empty:
            continue  # returns of items Omni never sold are no demand signal
        keys = ["product", "location", "day"]
        net = sold.set_index(keys)["quantity"].sub(
            returned.set_index(keys)["quantity"], fill_value=0.0
        )
        net = net.clip(lower=0.0).reset_index()
        # A return before the item's first sale here does not start its series.
        first_sale = sold.groupby(["product", "location"])["day"].min().rename("first")
        net = net.join(first_sale, on=["product", "location"])
        parts.append(net[net["day"] >= net["first"]].drop(columns="first"))
    if not parts:
        return _frame([])
    return pd.concat(parts, ignore_index=True)


def has_demand(city: City) -> bool:
    """Whether any demand of the city was imported or recorded in the ledger."""
    locations = scope_locations(city)
    return (
        DemandRecord.objects.filter(location__in=locations).exists()
        or StockMove.objects.filter(reason__in=DEMAND_REASONS, from_location__in=locations).exists()
    )


def open_hold_series(
    city: City | None, *, series: Iterable[SeriesIds] | None = None
) -> set[SeriesIds]:
    """(product id, location id) of every active hold of stock at a location of the scope: an
    order line, a pickup or a transfer waiting for its goods (``series``: among these only).
    Read from inventory's reservations, so forecasting knows nothing of orders."""
    holds = Reservation.objects.filter(
        status=ReservationStatus.ACTIVE, location__in=scope_locations(city)
    )
    if series is None:
        return set(holds.values_list("product_id", "location_id").distinct())
    wanted = {(int(p), int(loc)) for p, loc in series}
    holds = holds.filter(product_id__in=sorted({p for p, _ in wanted}))
    return set(holds.values_list("product_id", "location_id").distinct()) & wanted


# --------------------------------------------------------------------------- runs


def forecast_run_get(run_id: int) -> ForecastRun:
    """Any run: runs are the planners' and admins', who see them all (check that first)."""
    return visible_one(ForecastRun.objects.select_related("city"), UnknownForecastRun, pk=run_id)


def require_succeeded(run: ForecastRun) -> None:
    if run.status != RunStatus.SUCCEEDED:
        raise ForecastRunNotReady(run)


def forecast_run_list(
    *, status: str | None = None, city: str | None = None
) -> QuerySet[ForecastRun]:
    runs = ForecastRun.objects.select_related("city")
    if status:
        runs = runs.filter(status=status)
    if city:
        runs = runs.filter(scope=city)
    return runs


def current_run_ids() -> dict[str, int]:
    """The latest succeeded run of each scope (a city's code, or '*' for all cities)."""
    latest: dict[str, int] = {}
    rows = (
        ForecastRun.objects.filter(status=RunStatus.SUCCEEDED)
        .values_list("scope", "pk")
        .order_by("scope", "-pk")
    )
    for scope, pk in rows:
        latest.setdefault(scope, pk)
    return latest


def current_run_for(location: Location) -> int | None:
    """The run whose forecasts are current at ``location``: the newer of the latest succeeded
    run of its city and the latest of all cities."""
    latest = current_run_ids()
    candidates = [latest.get(ALL_CITIES)]
    if location.city is not None:
        candidates.append(latest.get(location.city.code))
    ids = [pk for pk in candidates if pk is not None]
    return max(ids) if ids else None


def _current_condition() -> Q | None:
    """Rows of the current run of each location, as one condition."""
    latest = current_run_ids()
    if not latest:
        return None
    everywhere = latest.get(ALL_CITIES)
    condition = Q()
    covered: list[str] = []
    for scope, pk in latest.items():
        if scope == ALL_CITIES:
            continue
        covered.append(scope)
        condition |= Q(location__city__code=scope, run_id=max(pk, everywhere or 0))
    if everywhere is not None:
        condition |= Q(run_id=everywhere) & ~Q(location__city__code__in=covered)
    return condition


def forecast_series_list(
    *,
    user: User,
    skus: Sequence[str] = (),
    locations: Sequence[str] = (),
    run: ForecastRun | None = None,
) -> QuerySet[ForecastSeries]:
    """Forecasts of the named SKUs at the named locations (none named: all), from ``run`` or
    else each location's current run. Store and warehouse staff see their locations only: a
    location of another is as unknown as a missing one."""
    rows = ForecastSeries.objects.select_related("product", "location", "run")
    for code in locations:
        location_visible(user, code)
    if not reads_everything(user):
        rows = rows.filter(location_id__in=user.location_ids())
    if run is not None:
        require_succeeded(run)
        rows = rows.filter(run=run)
    else:
        condition = _current_condition()
        if condition is None:
            return rows.none()
        rows = rows.filter(condition)
    if skus:
        rows = rows.filter(product__sku__in=list(skus))
    if locations:
        rows = rows.filter(location__code__in=list(locations))
    return rows


@dataclass(frozen=True)
class WindowDemand:
    """A forecast's demand over a window: the expected total and its quantile."""

    total: float
    upper: float
    quantile: str  # which one ("q95"), or "" when the window is beyond the forecast


def window_demand(
    series: ForecastSeries, *, calibration: dict[str, Any], first_day: date, days: int, level: str
) -> WindowDemand | None:
    """The demand of ``series`` over ``days`` days from ``first_day``, with its quantile
    ``level`` (``"q95"``; the nearest the run calibrated if not that one), from the run's
    window calibration (``summary["window_calibration"]``, see forecasting/engine/windows.py).
    None when the run has no calibration for a window that long (an older run, or a window
    beyond its horizon): the caller falls back to its own rule."""
    by_level = calibration.get(str(days))
    if not by_level:
        return None
    key = level if level in by_level else _nearest_level(by_level, level)
    if key is None:
        return None
    offset = max(0, (first_day - series.start).days)
    window = series.values[offset : offset + days]
    if len(window) < days:
        return None
    total = float(sum(window))
    return WindowDemand(
        total=total,
        upper=max(total + float(by_level[key]) * float(spread(total)), 0.0),
        quantile=key,
    )


def window_calibrations(run_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Each run's calibration of window totals (empty for runs made before there was one)."""
    return {
        pk: (summary or {}).get("window_calibration") or {}
        for pk, summary in ForecastRun.objects.filter(pk__in=list(run_ids)).values_list(
            "pk", "summary"
        )
    }


def _nearest_level(by_level: dict[str, Any], level: str) -> str | None:
    def number(key: str) -> float:
        try:
            return float(key.lstrip("q"))
        except ValueError:
            return -1.0

    keys = [k for k in by_level if number(k) >= 50]
    return min(keys, key=lambda k: abs(number(k) - number(level))) if keys else None


def forecast_series_of(run: ForecastRun, *, sku: str, location: str) -> ForecastSeries | None:
    return (
        ForecastSeries.objects.select_related("product", "location")
        .filter(run=run, product__sku=sku, location__code=location)
        .first()
    )


def run_series_list(
    run: ForecastRun,
    *,
    model: str | None = None,
    method: str | None = None,
    sku: str | None = None,
    location: str | None = None,
) -> QuerySet[ForecastSeries]:
    rows = ForecastSeries.objects.select_related("product", "location").filter(run=run)
    if model:
        rows = rows.filter(model=model)
    if method:
        rows = rows.filter(method=method)
    if sku:
        rows = rows.filter(product__sku=sku)
    if location:
        rows = rows.filter(location__code=location)
    return rows


# The progress lines a run stores (written by the services and the pure engine, in English),
# matched whole and shown in the language of the moment; a line not listed is shown as stored.
PROGRESS_TEXT: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"queued"), _("queued")),
    (re.compile(r"reading demand history"), _("reading demand history")),
    (re.compile(r"cancelled"), _("cancelled")),
    (re.compile(r"cancelled by (?P<who>.+)"), _("cancelled by %(who)s")),
    (re.compile(r"worker lost"), _("worker lost")),
    (re.compile(r"failed: (?P<error>.+)", re.DOTALL), _("failed: %(error)s")),
    (
        re.compile(r"(?P<series>[\d,]+) series, history to (?P<day>\S+)"),
        _("%(series)s series, history to %(day)s"),
    ),
    (
        re.compile(r"validating (?P<series>[\d,]+) series \((?P<models>\d+) models\)"),
        _("validating %(series)s series (%(models)s models)"),
    ),
    (
        re.compile(r"validated (?P<done>[\d,]+) of (?P<total>[\d,]+) series"),
        _("validated %(done)s of %(total)s series"),
    ),
    (
        re.compile(r"fitting the global model on (?P<series>[\d,]+) series"),
        _("fitting the global model on %(series)s series"),
    ),
    (re.compile(r"choosing the blend"), _("choosing the blend")),
    # The lines of runs made before the blend.
    (
        re.compile(r"backtesting (?P<series>[\d,]+) series \((?P<models>\d+) models\)"),
        _("backtesting %(series)s series (%(models)s models)"),
    ),
    (
        re.compile(r"backtested (?P<done>[\d,]+) of (?P<total>[\d,]+) series"),
        _("backtested %(done)s of %(total)s series"),
    ),
    (
        re.compile(r"forecast (?P<done>[\d,]+) of (?P<total>[\d,]+) series"),
        _("forecast %(done)s of %(total)s series"),
    ),
    (re.compile(r"done: (?P<series>[\d,]+) series"), _("done: %(series)s series")),
    (
        re.compile(
            r"done: (?P<series>[\d,]+) series, (?P<improvement>[+-][\d.]+)% RMSSE vs seasonal naive"
        ),
        _("done: %(series)s series, %(improvement)s%% RMSSE vs seasonal naive"),
    ),
]


# A run in several chunks reports each chunk's line with its number in front.
CHUNK_PROGRESS = re.compile(r"chunk (?P<chunk>\d+) of (?P<chunks>\d+): (?P<step>.+)", re.DOTALL)


def progress_text(message: str) -> str:
    """A stored progress line in the language of the moment."""
    chunk = CHUNK_PROGRESS.fullmatch(message)
    if chunk:
        return gettext("chunk %(chunk)s of %(chunks)s: %(step)s") % {
            "chunk": chunk["chunk"],
            "chunks": chunk["chunks"],
            "step": progress_text(chunk["step"]),
        }
    for pattern, text in PROGRESS_TEXT:
        match = pattern.fullmatch(message)
        if match:
            return str(text) % match.groupdict()
    return message


def run_status_message(run: ForecastRun) -> str:
    """One line for lists: what the run is doing or how it ended."""
    if run.status == RunStatus.SUCCEEDED:
        improvement = (run.summary or {}).get("improvement_pct")
        series = f"{run.series_total:,}"
        if improvement:
            return gettext("%(series)s series, %(improvement)s%% RMSSE vs seasonal naive") % {
                "series": series,
                "improvement": f"{improvement:+.1f}",
            }
        return gettext("%(series)s series") % {"series": series}
    if run.status == RunStatus.FAILED:
        return run.error.splitlines()[0] if run.error else gettext("failed")
    return progress_text(run.message)


def demand_series(
    *, product: Product, location: Location, until: date, days: int
) -> tuple[date, np.ndarray]:
    """The last ``days`` days of demand of one series up to ``until`` (for charts)."""
    result = demand_history(
        city=location.city, as_of=until, products=[product.pk], locations=[location.pk]
    )
    start = until - timedelta(days=days - 1)
    values = np.zeros(days)
    for series in result.history.series:
        offset = (series.start - start).days
        source = series.values
        if offset < 0:
            source, offset = source[-offset:], 0
        values[offset : offset + len(source)] = source[: days - offset]
    return start, values
