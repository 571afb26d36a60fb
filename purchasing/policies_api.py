"""The reorder policies router: list the policies with their ABC/XYZ class, set one by hand (the
planner's override), revert one to its class's suggestion, and classify a city or a location.
Planners and admins only; others get 403.

No ``from __future__ import annotations``: ninja reads the annotations.
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema
from ninja.decorators import decorate_view
from ninja.pagination import paginate

from inventory.selectors import location_by_code, product_by_sku
from omni.access import current_user, reads_everything
from omni.errors import RoleNotAllowed
from omni.idempotency import idempotent
from omni.models import User
from omni.pagination import CursorPagination
from omni.schemas import FreeText, InputSchema, QuerySchema
from omni.selectors import city_by_code

from . import selectors, services
from .models import ReorderPolicy, ReorderPolicyKind
from .policy.classes import SUGGESTED

router = Router(tags=["reorder policies"])

Code = Annotated[str, Field(min_length=1, max_length=32)]
# Ranges of meaning are the service's to check (``reorder_policy_invalid`` names the field).
Whole = Annotated[int, Field(strict=True, ge=-1_000_000_000, le=1_000_000_000)]


class ReorderPolicyFilter(QuerySchema):
    location: Code | None = None
    sku: Annotated[str, Field(max_length=64)] | None = None
    abc: Literal["A", "B", "C"] | None = None
    xyz: Literal["X", "Y", "Z"] | None = None
    kind: ReorderPolicyKind | None = None
    overridden: bool | None = None


class ClassSuggestionOut(Schema):
    kind: str
    service_level: float | None


class ReorderPolicyOut(Schema):
    sku: str = Field(alias="product.sku")
    name: str = Field(alias="product.name")
    location: str = Field(alias="location.code")
    kind: str
    min_quantity: int | None
    max_quantity: int | None
    service_level: Decimal | None
    review_days: int
    overridden: bool
    set_by: str | None
    note: str
    updated_at: datetime
    abc_class: str
    xyz_class: str
    class_value: Decimal
    weekly_cv: float | None
    daily_mean: float
    classified_at: datetime | None
    suggested: ClassSuggestionOut | None

    @staticmethod
    def resolve_set_by(obj: ReorderPolicy) -> str | None:
        return obj.set_by.get_username() if obj.set_by is not None else None

    @staticmethod
    def resolve_suggested(obj: ReorderPolicy) -> dict[str, Any] | None:
        hint = SUGGESTED.get(obj.abc_class + obj.xyz_class)
        if hint is None:
            return None
        return {"kind": hint.method, "service_level": hint.service_level}


class ReorderPolicyIn(InputSchema):
    kind: Annotated[str, Field(max_length=32)]
    min_quantity: Whole | None = None
    max_quantity: Whole | None = None
    service_level: Annotated[Decimal, Field(ge=-10, le=10, max_digits=12)] | None = None
    review_days: Whole = 7
    note: Annotated[FreeText, Field(max_length=255)] = ""


class PolicyClassifyIn(InputSchema):
    city: Code | None = None
    location: Code | None = None


class PolicyClassifyOut(Schema):
    locations: list[str]
    counts: dict[str, int]
    created: int
    updated: int
    kept: int


def _planner(request: HttpRequest) -> User:
    user = current_user(request)
    if not reads_everything(user):
        raise RoleNotAllowed(user, _("reorder policies are for planners and administrators"))
    return user


@router.get("/purchasing/policies", response=list[ReorderPolicyOut])
@paginate(CursorPagination, ordering=("id",))
def reorder_policy_list(request: HttpRequest, filters: Query[ReorderPolicyFilter]) -> Any:
    """Reorder policies with their class; ``location`` unknown is a 404."""
    _planner(request)
    data = filters.dict()
    code = data.pop("location")
    location = location_by_code(code) if code is not None else None
    return selectors.reorder_policies(location=location, **data)


@router.put("/purchasing/policies/{location}/{sku}", response=ReorderPolicyOut)
def reorder_policy_set(
    request: HttpRequest, location: str, sku: str, body: ReorderPolicyIn
) -> ReorderPolicy:
    """The planner's policy for the SKU at the location (``overridden``: classifying keeps it).
    ``min_max`` needs ``min_quantity`` ≤ ``max_quantity``; ``service_level`` a fraction such as
    0.95."""
    user = _planner(request)
    where = location_by_code(location)
    product = product_by_sku(sku)
    services.reorder_policy_set(product=product, location=where, actor=user, **body.dict())
    return selectors.reorder_policy_get(product, where)


@router.post("/purchasing/policies/{location}/{sku}/revert", response=ReorderPolicyOut)
@decorate_view(idempotent)
def reorder_policy_revert(request: HttpRequest, location: str, sku: str) -> ReorderPolicy:
    """Back to the policy suggested for the SKU's class; ``overridden`` is cleared."""
    user = _planner(request)
    where = location_by_code(location)
    product = product_by_sku(sku)
    services.reorder_policy_revert(product=product, location=where, actor=user)
    return selectors.reorder_policy_get(product, where)


@router.post("/purchasing/policies/classify", response=PolicyClassifyOut)
@decorate_view(idempotent)
def reorder_policies_classify(request: HttpRequest, body: PolicyClassifyIn) -> dict[str, Any]:
    """Classify (ABC by value, XYZ by variability) the SKUs of a ``city``'s DCs and buying
    stores, or of one ``location``, and write each class's suggested policy; planners' policies
    are kept (``kept``), their class refreshed."""
    _planner(request)
    city = city_by_code(body.city) if body.city is not None else None
    location = location_by_code(body.location) if body.location is not None else None
    result = services.reorder_policies_classify(city=city, location=location)
    return {
        "locations": result.locations,
        "counts": result.counts,
        "created": result.created,
        "updated": result.updated,
        "kept": result.kept,
    }
