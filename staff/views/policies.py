"""The planners' reorder policy page (``/staff/purchasing/policies/``): one location's policies
with their ABC/XYZ class, filtered and paged (a DC has thousands of SKUs), the ABC × XYZ grid
(SKUs and value share per cell, the policy suggested for it), a form per row to set the policy
by hand (the planner's override) or revert it to its class's suggestion, and a button to
classify the location now.

Planners and admins only (``planner_page``). Edits go through ``reorder_policy_set`` and
``reorder_policy_revert``; a refusal is shown as a sentence (``Notice.failure``), never a 500.
With htmx an edit answers the row alone.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from inventory.models import Location, LocationKind, Product
from omni.errors import ApplicationError
from purchasing import selectors, services
from purchasing.models import ReorderPolicy, ReorderPolicyKind
from staff.views.common import Notice, Staff, planner_page

PER_PAGE = 50
KIND_LABELS = {
    ReorderPolicyKind.MIN_MAX: _("Min/max"),
    ReorderPolicyKind.SERVICE_LEVEL: _("Service level"),
}


def _buying_places() -> list[Location]:
    """Active DCs, then active stores (the places a policy can be for), by code."""
    places = Location.objects.filter(
        kind__in=(LocationKind.WAREHOUSE, LocationKind.STORE), active=True
    )
    return sorted(places, key=lambda loc: (loc.kind != LocationKind.WAREHOUSE, loc.code))


class PolicyFilterForm(forms.Form):
    location = forms.ChoiceField(label=_("Location"), required=False)
    q = forms.CharField(label=_("SKU or name"), required=False, max_length=64)
    abc = forms.ChoiceField(
        label=_("Value class"),
        required=False,
        choices=[("", _("A, B and C")), ("A", "A"), ("B", "B"), ("C", "C")],
    )
    xyz = forms.ChoiceField(
        label=_("Variability class"),
        required=False,
        choices=[("", _("X, Y and Z")), ("X", "X"), ("Y", "Y"), ("Z", "Z")],
    )
    kind = forms.ChoiceField(
        label=_("Policy"),
        required=False,
        choices=[("", _("Any policy")), *KIND_LABELS.items()],
    )
    overridden = forms.ChoiceField(
        label=_("Set by"),
        required=False,
        choices=[("", _("Anyone")), ("yes", _("A planner")), ("no", _("The class suggestion"))],
    )

    def __init__(self, *args: Any, places: list[Location], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["location"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(loc.code, f"{loc.code} {loc.name}") for loc in places]


class PolicyForm(forms.Form):
    kind = forms.ChoiceField(label=_("Policy"), choices=list(KIND_LABELS.items()))
    min_quantity = forms.IntegerField(label=_("Min (reorder at)"), required=False)
    max_quantity = forms.IntegerField(label=_("Max (order up to)"), required=False)
    service_level = forms.DecimalField(
        label=_("Service level (e.g. 0.95)"), required=False, max_digits=8, decimal_places=4
    )
    review_days = forms.IntegerField(label=_("Review every (days)"), initial=7)
    note = forms.CharField(label=_("Note"), required=False, max_length=255)


def _place(places: list[Location], code: str | None) -> Location | None:
    """The location named, or the first DC when none is."""
    for loc in places:
        if loc.code == code:
            return loc
    return places[0] if places and not code else None


@require_http_methods(["GET"])
@planner_page("policies")
def policy_list(request: HttpRequest, staff: Staff) -> HttpResponse:
    return _render_list(request, staff, request.GET)


def _render_list(
    request: HttpRequest,
    staff: Staff,
    params: QueryDict,
    notice: Notice | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    places = _buying_places()
    filters = PolicyFilterForm(params or None, places=places)
    data = filters.cleaned_data if filters.is_valid() else {}
    location = _place(places, data.get("location") or params.get("location"))
    if location is None:
        raise Http404("no such location")
    overridden = {"yes": True, "no": False}.get(data.get("overridden") or "")
    rows = selectors.reorder_policies(
        location=location,
        search=(data.get("q") or "").strip() or None,
        abc=data.get("abc") or None,
        xyz=data.get("xyz") or None,
        kind=data.get("kind") or None,
        overridden=overridden,
    ).order_by("product__sku")
    page = Paginator(rows, PER_PAGE).get_page(params.get("page"))
    kept = {k: v for k, v in data.items() if v and k != "location"}
    query = urlencode({"location": location.code, **kept})
    summary = selectors.policy_class_summary(location)
    context = {
        "staff": staff,
        "notice": notice,
        "filters": filters,
        "location": location,
        "page": page,
        "query": query,
        "grid": [summary[i : i + 3] for i in range(0, 9, 3)],
        "classified": sum(cell.skus for cell in summary),
    }
    return render(request, "purchasing/policies.html", context, status=status)


def _back(request: HttpRequest) -> QueryDict:
    """The list's query as the planner left it (filters and page, posted with the form)."""
    return QueryDict(request.POST.get("back", ""))


def _target(location_code: str, sku: str) -> tuple[Location, Product]:
    location = Location.objects.filter(
        code=location_code, kind__in=(LocationKind.WAREHOUSE, LocationKind.STORE)
    ).first()
    product = Product.objects.filter(sku=sku).first()
    if location is None or product is None:
        raise Http404("no such location or SKU")
    return location, product


def _row(
    request: HttpRequest, policy: ReorderPolicy, notice: Notice | None, status: int
) -> HttpResponse:
    policy = selectors.reorder_policy_get(policy.product, policy.location)
    refused = notice is not None and not notice.ok and "kind" in request.POST
    return render(
        request,
        "purchasing/_policy_row.html",
        {
            "policy": policy,
            "row_notice": notice,
            "back": request.POST.get("back", ""),
            # A refused edit keeps what the planner typed, open for correcting.
            "typed": request.POST if refused else None,
        },
        status=status,
    )


@require_http_methods(["POST"])
@planner_page("policies")
def policy_edit(request: HttpRequest, staff: Staff, location: str, sku: str) -> HttpResponse:
    """The planner's policy for one SKU at one location (``overridden``)."""
    where, product = _target(location, sku)
    form = PolicyForm(request.POST)
    notice: Notice | None = None
    status = 200
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        label = form.fields[field].label if field in form.fields else field
        notice = Notice(ok=False, message=f"{label}: {' '.join(str(e) for e in errors)}")
        status = 422
    else:
        data = form.cleaned_data
        try:
            services.reorder_policy_set(
                product=product,
                location=where,
                kind=data["kind"],
                min_quantity=data["min_quantity"],
                max_quantity=data["max_quantity"],
                service_level=data["service_level"],
                review_days=data["review_days"],
                note=data["note"],
                actor=staff.user,
            )
        except ApplicationError as exc:
            notice, status = Notice.failure(exc), exc.http_status
        else:
            notice = Notice.success(gettext("Saved: this policy is kept when SKUs are classified."))
    return _answer(request, staff, where, product, notice, status)


@require_http_methods(["POST"])
@planner_page("policies")
def policy_revert(request: HttpRequest, staff: Staff, location: str, sku: str) -> HttpResponse:
    where, product = _target(location, sku)
    try:
        services.reorder_policy_revert(product=product, location=where, actor=staff.user)
    except ApplicationError as exc:
        notice, status = Notice.failure(exc), exc.http_status
    else:
        notice, status = Notice.success(gettext("Back to the suggestion for its class.")), 200
    return _answer(request, staff, where, product, notice, status)


def _answer(
    request: HttpRequest,
    staff: Staff,
    location: Location,
    product: Product,
    notice: Notice,
    status: int,
) -> HttpResponse:
    """The row (htmx), else the list: as the planner left it when saved, with the refusal
    shown when not."""
    policy = ReorderPolicy.objects.filter(product=product, location=location).first()
    if request.htmx and policy is not None:  # type: ignore[attr-defined]
        return _row(request, policy, notice, status)
    back = _back(request)
    if notice.ok:
        messages.success(request, f"{product.sku}: {notice.message}")
        return redirect(f"{reverse('purchasing:policies')}?{back.urlencode()}")
    return _render_list(request, staff, back, notice, status=status)


@require_http_methods(["POST"])
@planner_page("policies")
def policies_classify(request: HttpRequest, staff: Staff) -> HttpResponse:
    """Classify the location now and write the suggested policies (planners' ones kept)."""
    places = _buying_places()
    location = _place(places, request.POST.get("location") or "-")
    if location is None:
        raise Http404("no such location")
    try:
        result = services.reorder_policies_classify(location=location)
    except ApplicationError as exc:
        return _render_list(
            request, staff, _back(request), Notice.failure(exc), status=exc.http_status
        )
    messages.success(
        request,
        gettext(
            "%(location)s classified: %(suggested)s policies follow their class, %(kept)s set"
            " by planners were kept."
        )
        % {
            "location": location.code,
            "suggested": result.created + result.updated,
            "kept": result.kept,
        },
    )
    return redirect(f"{reverse('purchasing:policies')}?{urlencode({'location': location.code})}")
