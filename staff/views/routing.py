"""The routing pages: the planners' view of the waiting queue, today's capacity, the routing
profiles of each channel and the audit of routing settings (``/staff/routing/``); and, for any
staff who may see an order, why it was routed the way it was (``/staff/orders/<id>/routing/``).

The routing page is for planners and admins; store, warehouse and channel users get the 403
page, as on the allocation pages. The order page answers a 404 for an order the user may not
see (``orders.selectors.order_visible``). "Retry now" runs the waiting-queue task: eagerly on a
machine without a broker (the counts are shown at once), on a worker otherwise.

The rule texts are the page's own, in the staff's language; ``Rule.describe()`` words them for
a rule this page does not know yet.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from inventory.models import Location, LocationKind
from network.models import Channel, ChannelKind, ConfigChange, RoutingProfile, RoutingProfileStatus
from network.services import routing_profile_activate, routing_profile_deactivate
from omni.errors import ApplicationError, NotFound
from omni.models import City
from omni.selectors import city_today
from orders.models import Order
from orders.routing import DEFAULT_RULES
from orders.selectors import (
    CapacityRow,
    WaitingOrder,
    WaitingSummary,
    capacity_overview,
    order_visible,
    routing_explain,
    waiting_summary,
)
from orders.tasks import orders_route_waiting_task
from staff.views.common import PLANNER_ROLES, Notice, Staff, render_page, staff_page

from .routing_words import (
    CHANGE_LABELS,
    KIND_LABELS,
    OUTCOME_LABELS,
    RULE_TEXT,
    SERVICE_LABELS,
    SOURCE_LABELS,
    STORE_SERVICE_LABELS,
    WHEN_SHORT_LABELS,
    _label,
    _rule_of,
    latest_reason,
    mode_label,
    profile_rules,
    reason_text,
    rule_text,
    status_label,
    what_text,
)

QUEUE_ROWS = 100
AUDIT_ROWS = 50


@dataclass
class RoutingStaff(Staff):
    """``Staff`` whose location picker and language switch come back to this page's own path
    (the order page has an id in it, so ``staff:<page>`` cannot name it)."""

    url: str = ""

    @property
    def page_url(self) -> str:
        return self.url or super().page_url


def _routing_staff(request: HttpRequest, staff: Staff) -> RoutingStaff:
    return RoutingStaff(
        user=staff.user,
        role=staff.role,
        page="routing",
        locations=staff.locations,
        location=staff.location,
        url=request.path,
    )


# --------------------------------------------------------------------------- the queue


@dataclass(frozen=True)
class QueueRow:
    """An order in the waiting queue, as the page shows it."""

    entry: WaitingOrder
    overdue: bool  # promised for a time that has passed

    @property
    def order(self) -> Order:
        return self.entry.order

    @property
    def status_label(self) -> str:
        return status_label(self.entry.order.status)

    @property
    def mode_label(self) -> str:
        return mode_label(self.entry.order.mode)

    @property
    def reason(self) -> str:
        return latest_reason(self.entry.order)


def queue_rows(summary: WaitingSummary | None) -> list[QueueRow]:
    if summary is None:
        return []
    now = timezone.now()
    return [
        QueueRow(
            entry=entry,
            overdue=entry.order.promised_at is not None and entry.order.promised_at < now,
        )
        for entry in summary.orders
    ]


# --------------------------------------------------------------------------- capacity


@dataclass(frozen=True)
class CapacityLine:
    """One location service's day: limit, used, left, hours, and how full it is."""

    row: CapacityRow

    @property
    def location(self) -> Location:
        return self.row.location

    @property
    def service(self) -> str:
        return self.row.service

    @property
    def service_label(self) -> str:
        labels = STORE_SERVICE_LABELS if self.row.location.kind == LocationKind.STORE else {}
        if self.row.service == "ship" and labels:
            return str(labels["ship"])
        return _label(SERVICE_LABELS, self.row.service)

    @property
    def short_label(self) -> str:
        """The label on the location's own pages: "Pickups today", "Ship from store"."""
        if self.row.service == "ship" and self.row.location.kind != LocationKind.STORE:
            return gettext("Shipping today")
        return _label(STORE_SERVICE_LABELS, self.row.service)

    @property
    def limit(self) -> int | None:
        return self.row.limit

    @property
    def used(self) -> int:
        return self.row.used

    @property
    def left(self) -> int | None:
        return self.row.left

    @property
    def full(self) -> bool:
        return self.row.limit is not None and self.row.used >= self.row.limit

    @property
    def percent(self) -> int:
        """How full the day is, 0–100 (the bar's width); 0 without a limit."""
        if not self.row.limit:
            return 100 if self.full else 0
        return min(100, round(100 * self.row.used / self.row.limit))

    @property
    def hours(self) -> str:
        if self.row.opens_at is None or self.row.closes_at is None:
            return ""
        return f"{self.row.opens_at:%H:%M}–{self.row.closes_at:%H:%M}"


def store_capacity_today(location: Location | None) -> list[CapacityLine]:
    """A location's pickup and ship-from-store capacity today (its city's date); empty for a
    location without a city or without those services."""
    if location is None or location.city is None:
        return []
    rows = capacity_overview(city=location.city, location_ids=[location.pk])
    return [CapacityLine(row) for row in rows]


# --------------------------------------------------------------------------- profiles


@dataclass
class ProfileView:
    profile: RoutingProfile
    rules: list[str]
    overridden: bool = False  # a default version while the city has its own active version

    @property
    def when_short(self) -> str:
        return _label(WHEN_SHORT_LABELS, self.profile.when_short)

    @property
    def scope(self) -> str:
        city = self.profile.city
        return city.name if city is not None else gettext("every city")


@dataclass
class ChannelProfiles:
    channel: Channel
    active: list[ProfileView] = field(default_factory=list)
    drafts: list[ProfileView] = field(default_factory=list)
    retired: list[ProfileView] = field(default_factory=list)
    default_rules: list[str] = field(default_factory=list)
    default_when_short: str = ""


def _channel_profiles(city: City | None) -> list[ChannelProfiles]:
    """Per routed channel (the counter is never routed): the versions that apply in ``city``
    (its own and the defaults for every city), active first, then drafts, then retired."""
    channels = Channel.objects.exclude(kind=ChannelKind.STORE_POS).order_by("code")
    profiles = RoutingProfile.objects.select_related("city", "created_by", "activated_by").order_by(
        "-version"
    )
    if city is not None:
        channels = channels.filter(Q(cities__city=city) | Q(routing_profiles__city=city))
        profiles = profiles.filter(Q(city=city) | Q(city__isnull=True))
    by_channel: dict[int, ChannelProfiles] = {}
    for channel in channels.distinct():
        default_when_short = "backorder" if channel.allow_backorder else "refuse"
        by_channel[channel.pk] = ChannelProfiles(
            channel=channel,
            default_rules=[rule_text(rule) for rule in DEFAULT_RULES],
            default_when_short=_label(WHEN_SHORT_LABELS, default_when_short),
        )
    for profile in profiles.filter(channel_id__in=list(by_channel)):
        entry = by_channel[profile.channel_id]
        view = ProfileView(profile=profile, rules=profile_rules(profile.rules))
        if profile.status == RoutingProfileStatus.ACTIVE:
            entry.active.append(view)
        elif profile.status == RoutingProfileStatus.DRAFT:
            entry.drafts.append(view)
        else:
            entry.retired.append(view)
    for entry in by_channel.values():
        # The city's own active version routes; the default one waits behind it.
        entry.active.sort(key=lambda v: v.profile.city_id is None)
        for view in entry.active[1:]:
            view.overridden = True
    return list(by_channel.values())


# --------------------------------------------------------------------------- audit


def _show_param(value: Any) -> str:
    return "/".join(str(v) for v in value) if isinstance(value, list) else f"{value}"


def _show_rule(entry: Any) -> str:
    if isinstance(entry, dict):
        params = ", ".join(f"{k}={_show_param(v)}" for k, v in entry.items() if k != "rule")
        return f"{entry.get('rule', '?')}({params})" if params else str(entry.get("rule", "?"))
    return str(entry)


def show_value(value: Any, kind: str = "") -> str:
    """A setting's old or new value, short: "—" for none, "v3" for a profile version."""
    if value is None:
        return "—"
    if kind == "routing_profile" and isinstance(value, int):
        return f"v{value}"
    if isinstance(value, dict):
        parts = []
        for key, each in value.items():
            if key == "rules" and isinstance(each, list):
                shown = ", ".join(_show_rule(r) for r in each) or "—"
            else:
                shown = "—" if each is None else str(each)
            parts.append(f"{key}: {shown}")
        return " · ".join(parts)
    if isinstance(value, list):
        return ", ".join(_show_rule(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class ChangeRow:
    change: ConfigChange

    @property
    def kind_label(self) -> str:
        return _label(CHANGE_LABELS, self.change.kind)

    @property
    def source_label(self) -> str:
        return _label(SOURCE_LABELS, self.change.source)

    @property
    def old(self) -> str:
        return show_value(self.change.old, self.change.kind)

    @property
    def new(self) -> str:
        return show_value(self.change.new, self.change.kind)


def _changes() -> list[ChangeRow]:
    rows = ConfigChange.objects.select_related("actor").order_by("-at", "-id")[:AUDIT_ROWS]
    return [ChangeRow(change) for change in rows]


# --------------------------------------------------------------------------- the routing page


def _cities() -> list[City]:
    return list(City.objects.order_by("name"))


def _pick_city(staff: Staff, cities: list[City], code: str) -> City | None:
    if code:
        for city in cities:
            if city.code == code:
                return city
        raise Http404("no such city")
    here = staff.location.city_id if staff.location is not None else None
    return next((c for c in cities if c.pk == here), cities[0] if cities else None)


def _zone(city: City | None) -> zoneinfo.ZoneInfo | None:
    return zoneinfo.ZoneInfo(city.timezone) if city is not None else None


def _city_query(city: City | None) -> str:
    return f"?{urlencode({'city': city.code})}" if city is not None else ""


def _render_routing(
    request: HttpRequest, staff: RoutingStaff, *, notice: Notice | None = None
) -> HttpResponse:
    cities = _cities()
    city = _pick_city(staff, cities, request.GET.get("city", "").strip())
    zone = _zone(city)
    with timezone.override(zone or timezone.get_current_timezone()):
        summary: WaitingSummary | None = (
            waiting_summary(user=staff.user, city=city, limit=QUEUE_ROWS)
            if city is not None
            else None
        )
        capacity = (
            [CapacityLine(row) for row in capacity_overview(city=city)] if city is not None else []
        )
        context = {
            "cities": cities,
            "city": city,
            "city_query": _city_query(city),
            "today": city_today(city) if city is not None else None,
            "summary": summary,
            "queue": queue_rows(summary),
            "capacity": capacity,
            "channels": _channel_profiles(city),
            "changes": _changes(),
            "notice": notice or _notice_from_messages(request),
            "now": timezone.now(),
        }
        return render_page(
            request,
            staff,
            page="staff/routing.html",
            panel="staff/_routing_live.html",
            context=context,
        )


def _notice_from_messages(request: HttpRequest) -> Notice | None:
    """What a button said before redirecting here (the latest message wins)."""
    notice = None
    for message in messages.get_messages(request):
        ok = message.level < messages.ERROR
        notice = Notice(ok=ok, message=str(message.message), code="" if ok else message.extra_tags)
    return notice


def _back_to_routing(request: HttpRequest, notice: Notice) -> HttpResponse:
    """After a button: the routing page again (of the city the form came from), saying what
    happened, so a reload asks nothing again."""
    if notice.ok:
        messages.success(request, notice.message)
    else:
        messages.error(request, notice.message, extra_tags=notice.code)
    city = request.GET.get("city", "").strip()
    return redirect(reverse("staff:routing") + (f"?{urlencode({'city': city})}" if city else ""))


@require_GET
@staff_page("routing", roles=PLANNER_ROLES, needs_location=False)
def routing(request: HttpRequest, staff: Staff) -> HttpResponse:
    return _render_routing(request, _routing_staff(request, staff))


@require_POST
@staff_page("routing", roles=PLANNER_ROLES, needs_location=False)
def routing_retry(request: HttpRequest, staff: Staff) -> HttpResponse:
    """Route the waiting queue of the city shown again now. htmx swaps the queue and capacity
    with the counts; without htmx the page comes back with them."""
    routing_staff = _routing_staff(request, staff)
    city = _pick_city(routing_staff, _cities(), request.GET.get("city", "").strip())
    result = orders_route_waiting_task.delay(city_id=city.pk if city is not None else None)
    if result.ready():
        counts: dict[str, int] = result.get()
        notice = Notice.success(
            gettext(
                "Routed the waiting orders again: %(tried)s tried, %(filled)s filled,"
                " %(partly)s partly filled, %(still_waiting)s still waiting,"
                " %(failed)s failed."
            )
            % counts
        )
    else:
        notice = Notice.success(
            gettext("The waiting orders are being routed again; reload the page in a moment.")
        )
    if getattr(request, "htmx", False):
        return _render_routing(request, routing_staff, notice=notice)
    return _back_to_routing(request, notice)


def _profile_or_404(profile_id: int) -> RoutingProfile:
    profile = RoutingProfile.objects.select_related("channel", "city").filter(pk=profile_id).first()
    if profile is None:
        raise Http404("no such routing profile")
    return profile


@require_POST
@staff_page("routing", roles=PLANNER_ROLES, needs_location=False)
def profile_activate(request: HttpRequest, staff: Staff, profile_id: int) -> HttpResponse:
    """Make a draft (or a retired version, to roll back) the version that routes its channel."""
    profile = _profile_or_404(profile_id)
    try:
        profile = routing_profile_activate(profile=profile, actor=staff.user, source="page")
    except ApplicationError as exc:
        return _back_to_routing(request, Notice.failure(exc))
    where = profile.city.name if profile.city else gettext("every city")
    return _back_to_routing(
        request,
        Notice.success(
            gettext("%(channel)s now routes by version %(version)s (%(where)s).")
            % {"channel": profile.channel.name, "version": profile.version, "where": where}
        ),
    )


@require_POST
@staff_page("routing", roles=PLANNER_ROLES, needs_location=False)
def profile_deactivate(request: HttpRequest, staff: Staff, profile_id: int) -> HttpResponse:
    """Retire the active version: the channel routes by the default rules (or the default
    version for every city) again."""
    profile = _profile_or_404(profile_id)
    try:
        profile = routing_profile_deactivate(profile=profile, actor=staff.user, source="page")
    except ApplicationError as exc:
        return _back_to_routing(request, Notice.failure(exc))
    return _back_to_routing(
        request,
        Notice.success(
            gettext("Version %(version)s of %(channel)s is retired.")
            % {"channel": profile.channel.name, "version": profile.version}
        ),
    )


# --------------------------------------------------------------------------- why this routing


@dataclass(frozen=True)
class RuleStep:
    """One rule of a decision, in words, and what it did to the nodes."""

    name: str
    text: str
    skipped: list[str] | None = None  # a filter: the nodes it took out
    order: list[str] | None = None  # a ranking or shape rule: the order nodes were tried in


@dataclass(frozen=True)
class CandidateLine:
    location: str
    kind: str
    city: str
    distance_km: float | None
    cost: float | None
    priority: int | None
    sellable: list[tuple[str, int]]
    capacity: str
    used: bool
    skipped: str


@dataclass
class DecisionView:
    number: int
    at: datetime | None
    what: str
    profile: dict[str, Any] | None
    when_short: str
    rules: list[RuleStep]
    outcome: str
    outcome_label: str
    reason: str
    candidates: list[CandidateLine]
    picks: list[dict[str, Any]]
    short: list[tuple[str, int]]


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def _step(entry: dict[str, Any]) -> RuleStep:
    name = str(entry.get("rule", "?"))
    if name == "capacity":
        text = str(RULE_TEXT["capacity"])
    else:
        rule = _rule_of(entry)
        text = rule_text(rule) if rule is not None else name
    skipped = entry.get("skipped")
    order = entry.get("order")
    return RuleStep(
        name=name,
        text=text,
        skipped=list(skipped) if isinstance(skipped, list) else None,
        order=list(order) if isinstance(order, list) else None,
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _candidate(entry: dict[str, Any]) -> CandidateLine:
    sellable = entry.get("sellable") or {}
    skipped = reason_text(entry.get("skipped_why"), str(entry.get("skipped") or ""))
    return CandidateLine(
        location=str(entry.get("location", "")),
        kind=_label(KIND_LABELS, entry.get("kind")),
        city=str(entry.get("city", "")),
        distance_km=_number(entry.get("distance_km")),
        cost=_number(entry.get("cost")),
        priority=entry.get("priority") if isinstance(entry.get("priority"), int) else None,
        sellable=sorted((str(sku), int(units)) for sku, units in sellable.items()),
        capacity=reason_text(entry.get("capacity_why"), str(entry.get("capacity") or "")),
        used=bool(entry.get("used")),
        skipped=skipped,
    )


def _decision(number: int, entry: dict[str, Any]) -> DecisionView:
    what = str(entry.get("what", ""))
    profile = entry.get("profile") if isinstance(entry.get("profile"), dict) else None
    outcome = str(entry.get("outcome", ""))
    if what == "counter sale" and not outcome:
        outcome = "routed"
    reason = reason_text(entry.get("why"), str(entry.get("reason", "")))
    if not reason and entry.get("store"):
        reason = gettext("sold at the counter of %(store)s") % {"store": entry["store"]}
    return DecisionView(
        number=number,
        at=_when(entry.get("at")),
        what=what_text(what),
        profile=profile,
        when_short=_label(WHEN_SHORT_LABELS, profile.get("when_short")) if profile else "",
        rules=[_step(r) for r in entry.get("rules", []) if isinstance(r, dict)],
        outcome=outcome,
        outcome_label=_label(OUTCOME_LABELS, outcome),
        reason=reason,
        candidates=[_candidate(c) for c in entry.get("candidates", []) if isinstance(c, dict)],
        picks=[p for p in entry.get("picks", []) if isinstance(p, dict)],
        short=sorted((str(sku), int(units)) for sku, units in (entry.get("short") or {}).items()),
    )


@dataclass(frozen=True)
class LineView:
    sku: str
    name: str
    wanted: int
    held: int
    where: list[str]

    @property
    def missing(self) -> int:
        return max(0, self.wanted - self.held)


def _lines(order: Order) -> list[LineView]:
    """The order's lines with what is held (or taken) and where, from the prefetched holds."""
    views = []
    for line in order.lines.all():
        holds = line.held_allocations()
        views.append(
            LineView(
                sku=line.product.sku,
                name=line.product.name,
                wanted=line.quantity,
                held=sum(a.quantity for a in holds),
                where=sorted({a.location.code for a in holds}),
            )
        )
    return views


@require_GET
@staff_page("home", needs_location=False)
def order_routing(request: HttpRequest, staff: Staff, order_id: int) -> HttpResponse:
    """Why was this order routed this way: every decision, in time order."""
    try:
        order = order_visible(staff.user, order_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    page_staff = _routing_staff(request, staff)
    explained = routing_explain(order)
    decisions = [
        _decision(n, entry)
        for n, entry in enumerate(explained["decisions"], start=1)
        if isinstance(entry, dict)
    ]
    with timezone.override(zoneinfo.ZoneInfo(order.city.timezone)):
        return render_page(
            request,
            page_staff,
            page="staff/routing_order.html",
            panel="staff/routing_order.html",
            context={
                "order": order,
                "explained": explained,
                "decisions": decisions,
                "lines": _lines(order),
                "waiting": order.waiting_since is not None,
                "status_label": status_label(order.status),
                "latest_reason": latest_reason(order),
                "mode_label": mode_label(order.mode),
                "now": timezone.now(),
                "queue_url": reverse("staff:routing") + _city_query(order.city),
            },
        )


def waiting_count() -> int:
    """Orders waiting for stock in every city (the planners' home tile)."""
    return Order.objects.filter(waiting_since__isnull=False).count()
