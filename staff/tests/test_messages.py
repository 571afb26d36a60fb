"""The sentences staff read instead of error codes (``staff.messages``): every code of every app
has one, every error class the services raise reads as a sentence for people in English and in
Chinese, and no rendered notice shows a code."""

from __future__ import annotations

import datetime
import importlib
import inspect
import re
from collections.abc import Iterator
from decimal import Decimal
from enum import StrEnum
from types import ModuleType

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import strip_tags
from django.utils.translation import gettext_lazy as _

from allocation.errors import AllocationAlreadyDecided, AllocationNoPlan, UnknownAllocationRun
from allocation.models import AllocationRun
from forecasting.errors import (
    DemandFileInvalid,
    ForecastRunFinished,
    ForecastRunInProgress,
    ForecastRunNotReady,
    NoDemandHistory,
    NoForecast,
    UnknownForecastRun,
    UnknownModel,
)
from forecasting.models import ForecastRun
from fulfillment.errors import (
    NotFullyPicked,
    NothingToPick,
    NothingToSort,
    NotInOrder,
    NotPicked,
    NotReturnable,
    OverPack,
    OverPick,
    PackageInvalidState,
    PickLineClosed,
    PickListDone,
    PickTaskClosed,
    PickupCodeExpired,
    PickupCodeForged,
    PickupCodeMalformed,
    PickupCodeTampered,
    PickupCodeUsed,
    PickupCodeWrongStore,
    PickupNotReady,
    PickupShortCodeInvalid,
    PickupShortCodesPaused,
    PickupShortCodeWrong,
    ShortPickInvalid,
    UnknownPackage,
    UnknownPickList,
    UnknownPickTask,
    WrongItem,
)
from fulfillment.models import Package, PickLine, PickList, PickTask
from inventory.errors import (
    BinOtherLocation,
    BinTaken,
    CountBelowReserved,
    DuplicateLine,
    InactiveProduct,
    InsufficientStock,
    NoLines,
    NotAStockLocation,
    NotOnDocument,
    QuantityInvalid,
    ReceivingBookedElsewhere,
    ReceivingClosed,
    ReceivingReasonMissing,
    ReservationNotActive,
    Shortage,
    TransferInvalidState,
    UnitCostInvalid,
    UnknownBin,
    UnknownLocation,
    UnknownProduct,
    UnknownReservation,
    UnknownTransfer,
)
from inventory.models import (
    Bin,
    Location,
    LocationKind,
    Product,
    ReceivingDraft,
    Reservation,
    Transfer,
)
from loyalty.errors import (
    CampaignBudgetExhausted,
    CampaignInvalid,
    CampaignIssueCapReached,
    CampaignNotActive,
    CampaignNotOffered,
    CardCodeRefused,
    CouponAlreadyUsed,
    CouponCodeForged,
    CouponCodeMalformed,
    CouponCodeNotCanonical,
    CouponCodeTampered,
    CouponExpired,
    CouponNotApplicable,
    CouponNotYours,
    CouponVoid,
    CouponWrongStore,
    DiscrepancyResolved,
    MemberLimitReached,
    MemberPhoneInvalid,
    MemberPhoneTaken,
    OfflineAllowanceExceeded,
    UnknownCampaign,
    UnknownCoupon,
    UnknownMember,
)
from loyalty.models import Campaign
from network.errors import RolloutFileInvalid, UnknownChannel, UnknownRoutingProfile
from network.models import Channel
from omni.errors import (
    ApplicationError,
    CommonErrorCode,
    Conflict,
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    RoleNotAllowed,
    UnknownCity,
)
from omni.limits import RateLimited
from omni.models import City, Role, User
from orders.errors import (
    ChannelNotLive,
    CounterNotLive,
    ExternalIdReused,
    HoldTicketClosed,
    HoldTicketEmpty,
    HoldTicketInvalid,
    HoldTicketShort,
    ModeNotAllowed,
    OrderInvalidState,
    OrderShort,
    PickupCapacityFull,
    StoreNotLive,
    UnknownOrder,
)
from orders.models import HoldTicket, Order, OrderLine
from purchasing.errors import (
    ExchangeRateInvalid,
    ExchangeRateMissing,
    NotOnPurchaseOrder,
    OverReceipt,
    PolicyClassificationInvalid,
    PurchaseOrderInvalidState,
    PurchaseOrderLineInvalid,
    ReceiptReasonMissing,
    ReorderPolicyInvalid,
    ReorderPolicyNotClassified,
    SupplierDoesNotDeliver,
    SupplierInactive,
    SupplierInvalid,
    SupplierItemInvalid,
    UnknownPurchaseOrder,
    UnknownReorderPolicy,
    UnknownSupplier,
)
from purchasing.models import PurchaseOrder, Supplier
from purchasing.proposal_models import ProposalLine, ReplenishmentRun
from purchasing.proposals.errors import (
    ProposalAlreadyDecided,
    ProposalNotReady,
    ProposalParameterInvalid,
    ProposalQuantityNotOrderable,
    UnknownProposalLine,
    UnknownProposalRun,
)
from staff.messages import CLASS_SENTENCES, OWN, SENTENCES, WORDED, staff_message
from staff.views.common import Notice

GENERIC = {
    CommonErrorCode.NOT_FOUND,
    CommonErrorCode.VALIDATION_ERROR,
    CommonErrorCode.CONFLICT,
    CommonErrorCode.PERMISSION_DENIED,
}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _errors_modules() -> Iterator[ModuleType]:
    for app in settings.PROJECT_APPS:
        try:
            yield importlib.import_module(f"{app}.errors")
        except ModuleNotFoundError as missing:
            if missing.name != f"{app}.errors":
                raise
    yield importlib.import_module("omni.limits")


def _code_enums() -> list[type[StrEnum]]:
    found = []
    for module in _errors_modules():
        for _name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, StrEnum)
                and value is not StrEnum
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return found


def _error_classes() -> list[type[ApplicationError]]:
    list(_errors_modules())  # importing them registers every subclass
    seen: list[type[ApplicationError]] = []
    todo = [ApplicationError]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub.__module__.startswith(tuple(settings.PROJECT_APPS)) and sub not in seen:
                seen.append(sub)
                todo.append(sub)
    return seen


def test_every_error_code_of_every_app_has_a_staff_sentence() -> None:
    enums = _code_enums()
    assert {e.__name__ for e in enums} >= {
        "CommonErrorCode",
        "InventoryErrorCode",
        "NetworkErrorCode",
        "RolloutErrorCode",
        "OrderErrorCode",
        "FulfillmentErrorCode",
        "ForecastErrorCode",
        "AllocationErrorCode",
        "PurchasingErrorCode",
    }
    missing = [f"{e.__name__}.{c.name}" for e in enums for c in e if str(c) not in SENTENCES]
    assert not missing, f"codes without a staff sentence in staff/messages.py: {missing}"
    # Only the generic codes speak the error's own message.
    own = sorted(code for code, say in SENTENCES.items() if say is OWN)
    assert own == sorted(str(c) for c in GENERIC)


def test_every_class_with_a_generic_code_and_a_fixed_message_has_a_sentence() -> None:
    """A class that shares ``not_found``/``validation_error``/... but always says the same
    thing (it builds its own message) needs its own staff sentence; a class that takes a
    ``message`` (``InvalidInput.saying``, ``PickupCodeRefused``) is worded by its raiser."""
    missing = []
    for cls in _error_classes():
        if cls.code not in GENERIC or "message" in inspect.signature(cls.__init__).parameters:
            continue
        if not any(base in CLASS_SENTENCES for base in cls.__mro__):
            missing.append(f"{cls.__module__}.{cls.__name__}")
    assert not missing, f"add these to CLASS_SENTENCES in staff/messages.py: {missing}"


# --------------------------------------------------------------------------- every error, said


def _examples() -> list[ApplicationError]:
    """One of each error class (each variant of its message), built from unsaved objects as
    the services build them."""
    city = City(code="HZ", name="Hangzhou")
    dc = Location(code="HZ-DC1", name="DC", kind=LocationKind.WAREHOUSE, active=True)
    store = Location(code="HZ-S01", name="Wulin", kind=LocationKind.STORE, active=True)
    virtual = Location(code="SCRAP", name="Scrap", kind=LocationKind.SCRAP, active=True)
    tea = Product(sku="TEA-500", name="Green tea")
    channel = Channel(code="web", name="Web shop")
    order = Order(pk=41, city=city, mode="pickup", status="cancelled")
    line = PickLine(pk=7, product=tea, quantity=3, picked=1, status="picked")
    pick_list = PickList(pk=5)
    planner = User(username="lin", role=Role.PLANNER)
    fc_run = ForecastRun(pk=9, status="running", progress=40)
    alloc_run = AllocationRun(pk=3, status="infeasible", decision="approved")
    acme = Supplier(code="ACME", name="Acme")
    po = PurchaseOrder(number="PO000012", status="cancelled")
    campaign = Campaign(
        code="spring", status="paused", budget=Decimal("1000"), issue_cap=500, per_member_limit=1
    )
    return [
        UnknownCity("XX"),
        UnknownCity(None),
        RoleNotAllowed(planner, "the %(role)s role cannot do this"),
        IdempotencyKeyReused(header="Idempotency-Key", key="k", first_used_for="/x"),
        IdempotencyKeyInvalid(header="Idempotency-Key", max_length=255),
        RateLimited(limit="10/m", retry_after=42),
        InsufficientStock(product=tea, location=dc, requested=6, available=2),
        OrderShort([Shortage(sku="TEA-500", requested=6, available=2)], store=None, reason="r"),
        CountBelowReserved([(tea, 2, 5)]),
        ReservationNotActive(Reservation(pk=12, status="released")),
        TransferInvalidState(Transfer(pk=8, status="received"), action="receive"),
        UnknownProduct(scanned="6900000000999"),
        UnknownProduct("NOPE-1"),
        UnknownProduct(skus=["NOPE-1", "NOPE-2"]),
        UnknownLocation(),
        UnknownReservation(),
        UnknownTransfer(),
        NotAStockLocation(virtual),
        InactiveProduct(tea),
        DuplicateLine(product=tea),
        DuplicateLine("count", skus=["TEA-500"]),
        QuantityInvalid("quantity", 0, low=1, high=999),
        QuantityInvalid("quantity", "two", low=1, high=999),
        UnitCostInvalid("unit_cost", "-1", sku="TEA-500"),
        NoLines("receipt"),
        UnknownChannel(),
        UnknownRoutingProfile(),
        RolloutFileInvalid.saying("pilot.toml:3: stores: missing"),
        UnknownOrder(),
        ChannelNotLive(channel),
        ChannelNotLive(channel, order=order),
        StoreNotLive(store, service="pickup", channel=channel),
        OrderInvalidState(order, action="pay"),
        ExternalIdReused(order, channel=channel, external_id="WEB-1"),
        ModeNotAllowed(channel, "store_sale"),
        PickupCapacityFull(store, days=3, alternatives=[]),
        NothingToPick(dc),
        WrongItem("6900000000999", line=line),
        WrongItem("6900000000999", pick_list=pick_list),
        WrongItem("6900000000017", pick_list=pick_list, done="TEA-500"),
        OverPick(line, 5),
        ShortPickInvalid(line),
        PickLineClosed(line),
        NotPicked(order, dc, product=tea, requested=3, ready=1),
        NotPicked(order, dc),
        PackageInvalidState(Package(pk=4, status="shipped")),
        NotReturnable(tea, order),
        NotReturnable(tea, order, returnable=1, quantity=3),
        UnknownPickList(),
        UnknownPickList(line=True),
        UnknownPackage(),
        PickupNotReady(order, store, [OrderLine(pk=1)], {}),
        PickupCodeMalformed("not a pickup code"),
        PickupCodeForged(),
        PickupCodeTampered(pickup_code_id=1),
        PickupCodeExpired(expired_at=0, pickup_code_id=1),
        PickupCodeWrongStore(for_store="HZ-S02", here=store, pickup_code_id=1),
        PickupCodeUsed(order, used=True, pickup_code_id=1),
        PickupCodeUsed(order, used=False, pickup_code_id=1),
        DemandFileInvalid(["history.csv:2: quantity: not a number"], file="history.csv"),
        UnknownForecastRun(),
        UnknownModel(["prophet"], known=["ets", "theta"]),
        ForecastRunInProgress(fc_run),
        ForecastRunInProgress(None),
        ForecastRunNotReady(fc_run),
        ForecastRunFinished(ForecastRun(pk=9, status="succeeded")),
        NoDemandHistory(city),
        NoForecast.saying("no forecast for TEA-500 at HZ-S01"),
        AllocationNoPlan(alloc_run),
        AllocationAlreadyDecided(alloc_run, again=True),
        UnknownAllocationRun(),
        UnitCostInvalid("unit_costs[3]", "-1", sku="TEA-500"),
        # Purchasing
        UnknownSupplier("NOPE"),
        UnknownPurchaseOrder(),
        UnknownReorderPolicy(),
        ReorderPolicyNotClassified(
            Product(sku="TEA-500"), Location(code="HZ-DC1", kind=LocationKind.WAREHOUSE)
        ),
        PolicyClassificationInvalid(
            "location", "SUPPLIERS", _("%(value)s is not an active DC or store, so it buys nothing")
        ),
        SupplierInvalid("code", "", _("code must be 1 to 32 letters, digits, '.', '_' or '-'")),
        SupplierItemInvalid(
            "moq",
            0,
            _("%(field)s must be a whole number from %(low)s to %(high)s, not %(value)s"),
            low=1,
            high=1000000,
            supplier="ACME",
            sku="TEA-500",
        ),
        ReorderPolicyInvalid(
            "kind",
            "lucky",
            _("kind must be min_max or service_level, not %(value)s"),
            sku="TEA-500",
            location="HZ-DC1",
        ),
        PurchaseOrderLineInvalid(
            line=2,
            sku="TEA-500",
            field="sku",
            value="TEA-500",
            message=_("line %(line)s: %(sku)s is not active and cannot be ordered"),
        ),
        SupplierInactive(acme),
        ExchangeRateInvalid("rate", "0", _("rate must be an amount above 0, not %(value)s")),
        ExchangeRateMissing("USD", datetime.date(2026, 3, 2)),
        SupplierDoesNotDeliver(acme, store),
        PurchaseOrderInvalidState(po, action="receive", expected=["sent", "partially_received"]),
        NotOnPurchaseOrder(tea, po),
        OverReceipt(product=tea, ordered=24, received=20, counted=6, allowed=4),
        ReceiptReasonMissing([{"sku": "TEA-500", "open": 10, "counted": 7}]),
        ProposalNotReady(ReplenishmentRun(pk=4, status="running")),
        ProposalAlreadyDecided(ReplenishmentRun(pk=4, decision="approved")),
        ProposalQuantityNotOrderable(ProposalLine(pk=7, product=tea, moq=12, multiple=6), 13, 18),
        ProposalParameterInvalid("budget", -1, _("the budget must be a sum of 0 or more")),
        UnknownProposalRun(),
        UnknownProposalLine(),
        # The floor and the counter
        BinOtherLocation(Bin(code="A-01-01-1"), store),
        BinTaken(dc, code="A-01-01-1", sequence=3, other="A-01-01-2"),
        UnknownBin(dc, "Z-99"),
        PickListDone(pick_list),
        PickTaskClosed(PickTask(pk=4, status="picked")),
        UnknownPickTask(),
        NotFullyPicked(order, picked=2, wanted=5),
        NotInOrder("TEA-500", order),
        NotInOrder("TEA-500", order, other_order=43, other_tote=3),
        OverPack(order, tea, packed=2, picked=2, ordered=3),
        NothingToSort("TEA-500"),
        NotOnDocument(tea, Transfer(pk=8)),
        ReceivingClosed(ReceivingDraft(pk=2, status="booked")),
        ReceivingBookedElsewhere(ReceivingDraft(pk=3, booked_by="purchase_order")),
        ReceivingReasonMissing([(tea, 3, 2)]),
        PickupShortCodeInvalid("short_code"),
        PickupShortCodeWrong(order="41"),
        PickupShortCodeWrong(phone_last4="1234"),
        PickupShortCodesPaused(store, limit="10/h", retry_after=600),
        HoldTicketClosed(HoldTicket(pk=6, store=store, status="sold")),
        HoldTicketEmpty(),
        HoldTicketEmpty(selling=True),
        HoldTicketInvalid("customer"),
        HoldTicketShort(
            HoldTicket(pk=6, store=store),
            [Shortage(sku="TEA-500", requested=3, available=1, location="HZ-S01")],
        ),
        CounterNotLive(store),
        # Loyalty
        CampaignInvalid("percent_off", _("percent_off is more than 0 and at most 100")),
        CampaignNotActive(campaign),
        CampaignBudgetExhausted(campaign),
        CampaignIssueCapReached(campaign),
        CampaignNotOffered(campaign),
        MemberLimitReached(campaign),
        MemberPhoneInvalid(),
        MemberPhoneTaken("M000000018"),
        UnknownMember(),
        UnknownCampaign(),
        UnknownCoupon(),
        CouponCodeMalformed(),
        CouponCodeNotCanonical(),
        CouponCodeForged(),
        CouponCodeTampered(coupon=7),
        CouponExpired(coupon=7, expired_at=0),
        CouponWrongStore(coupon=7, here="HZ-S01"),
        CouponAlreadyUsed(coupon=7),
        CouponVoid(coupon=7),
        CouponNotApplicable(coupon=7, why="channel"),
        CouponNotApplicable(coupon=7, why="min_spend", min_spend=Decimal("50")),
        CouponNotYours(coupon=7),
        CardCodeRefused("expired"),
        OfflineAllowanceExceeded(store="HZ-S01"),
        DiscrepancyResolved(3),
        # The generic codes say the raiser's own words, which are in the catalogue.
        InvalidInput(_("scan or type a SKU or barcode"), detail={"field": "code"}),
        NotFound(_("no such location")),
        Conflict.saying(_("the store counter sells what the customer holds; it has no buffer")),
    ]


def test_the_examples_cover_every_code_and_every_class() -> None:
    examples = _examples()
    codes = {str(e.code) for e in examples}
    every = {str(c) for enum in _code_enums() for c in enum}
    # Said by the web server or the API's handler, never by a service a page calls.
    not_raised_by_services = {
        "unauthenticated",
        "malformed_request",
        "method_not_allowed",
        "request_too_large",
        "internal_error",
    }
    assert every - codes == not_raised_by_services
    classes = {type(e) for e in examples}
    abstract = {"PickupCodeRefused", "FieldInvalid", "CouponRefused"}
    assert {c.__name__ for c in _error_classes() if c not in classes} <= abstract | {
        "NotFound",
        "InvalidInput",
        "Conflict",
        "PermissionDenied",
    }


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_error_reads_as_a_sentence_without_its_code(language: str) -> None:
    with translation.override(language):
        for exc in _examples():
            said = staff_message(exc)
            where = f"{type(exc).__name__}: {said!r}"
            assert said and "%(" not in said, where
            assert str(exc.code) not in said, where
            assert said[0].isupper() or CJK.match(said[0]) or said[0] in "“", where
            assert said.endswith((".", "。", "！", "!", "？", "?")) or said[-1] in ":：", where
            assert "release_holds" not in said and "None" not in said, where
            if language == "zh-hans":
                assert CJK.search(said), f"not translated: {where}"
            if exc.code not in GENERIC and SENTENCES.get(str(exc.code)) is not WORDED:
                assert said != exc.message, f"a developer's message shown as is: {where}"


def test_the_sentences_name_what_the_detail_says() -> None:
    examples = {type(e).__name__ + str(i): e for i, e in enumerate(_examples())}
    said = {k: staff_message(e) for k, e in examples.items()}
    by_class = {k.rstrip("0123456789"): v for k, v in reversed(said.items())}
    assert by_class["CountBelowReserved"] == (
        "You counted 2 of TEA-500, but 5 are held for customers here. Count the shelf again;"
        " if it really has fewer, tick “Release holds” and post the count again."
    )
    assert "Only 2 of TEA-500 are available at HZ-DC1, not 6." in by_class["InsufficientStock"]
    assert "Only 2 of TEA-500 are available, not 6." in by_class["OrderShort"]
    assert by_class["WrongItem"].startswith(
        "Wrong item: you scanned 6900000000999, but this line wants TEA-500."
    )
    assert "Wait 42 seconds" in by_class["RateLimited"]
    assert "HZ-S02" in by_class["PickupCodeWrongStore"]
    with translation.override("zh-hans"):
        chinese = staff_message(CountBelowReserved([(Product(sku="TEA-500"), 2, 5)]))
    assert "TEA-500" in chinese and "2" in chinese and "5" in chinese


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_rendered_notice_shows_the_sentence_and_keeps_the_code_out_of_sight(
    language: str,
) -> None:
    with translation.override(language):
        for exc in _examples():
            html = render_to_string("staff/_notice.html", {"notice": Notice.failure(exc)})
            visible = strip_tags(html)
            assert str(exc.code) not in visible, html
            assert f'data-code="{exc.code}"' in html
            assert "<code" not in html
