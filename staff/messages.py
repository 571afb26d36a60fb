"""What a staff page says when a service refuses: one sentence for people, in their language.

The API answers ``{"code", "message", "detail"}``: a code for programs, a message for the
developer reading the log. A person at a scanner needs neither: they need to know what happened
and what to do now. ``staff_message(exc)`` is the one place that turns an ``ApplicationError``
into that sentence, from the error's code and the names and figures of its ``detail`` (the SKU,
the location, how many were available), so a page never shows a code.

Every code of every app has an entry in ``SENTENCES`` (a test walks the code enums and fails
on a new code without one). An entry is a ``Say``: templates tried in order, the first whose
placeholders the error can fill is used. Classes that share a generic code (``not_found``,
``validation_error``, ``conflict``, ``permission_denied``) but always mean one thing have an
entry in ``CLASS_SENTENCES``. The generic codes themselves speak the error's own message, made
a sentence: whoever raises ``InvalidInput.saying(...)`` words it for people.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

from allocation.errors import AllocationErrorCode, UnknownAllocationRun
from forecasting.errors import ForecastErrorCode
from fulfillment.errors import FulfillmentErrorCode, ShortPickInvalid
from inventory.errors import (
    InventoryErrorCode,
    NoLines,
    NotOnDocument,
    QuantityInvalid,
    UnitCostInvalid,
    UnknownBin,
    UnknownReservation,
    UnknownTransfer,
)
from loyalty.errors import LoyaltyErrorCode
from network.errors import NetworkErrorCode, RolloutErrorCode
from omni.errors import ApplicationError, CommonErrorCode, RoleNotAllowed
from orders.errors import OrderErrorCode
from purchasing.errors import (
    PurchasingErrorCode,
    UnknownPurchaseOrder,
    UnknownReorderPolicy,
    UnknownSupplier,
)
from purchasing.proposals.errors import (
    ProposalErrorCode,
    UnknownProposalLine,
    UnknownProposalRun,
)

if TYPE_CHECKING:  # a dev-only package: types only
    from django_stubs_ext import StrOrPromise

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
SENTENCE_END = (".", "!", "?", "。", "！", "？", ":", "：")

# The statuses the sentences name, in words (the models' choice labels are not translated).
STATUS_WORDS: dict[str, StrOrPromise] = {
    "active": _("active"),
    "consumed": _("used up"),
    "released": _("released"),
    "expired": _("expired"),
    "draft": _("a draft"),
    "approved": _("approved"),
    "dispatched": _("on its way"),
    "received": _("received"),
    "cancelled": _("cancelled"),
    "parked": _("waiting for stock"),
    "reserved": _("reserved"),
    "backordered": _("waiting for part of its stock"),
    "processing": _("being picked or packed"),
    "ready_for_pickup": _("ready for pickup"),
    "partially_shipped": _("partly shipped"),
    "shipped": _("shipped"),
    "completed": _("completed"),
    "open": _("still to pick"),
    "picked": _("picked"),
    "short": _("marked short"),
    "packed": _("packed"),
    "queued": _("queued"),
    "running": _("running"),
    "succeeded": _("finished"),
    "failed": _("failed"),
    "optimal": _("finished"),
    "feasible": _("finished"),
    "infeasible": _("without a possible plan"),
    "timeout": _("out of time"),
    "rejected": _("rejected"),
    "pending": _("waiting for a decision"),
    "sent": _("sent to the supplier"),
    "partially_received": _("partly received"),
    "ready": _("ready for review"),
}

SERVICE_WORDS: dict[str, StrOrPromise] = {
    "ship": _("deliveries"),
    "pickup": _("customer pickup"),
    "store_sale": _("counter sales"),
}


class Say:
    """Sentence templates for one kind of error, most specific first: the first one whose
    ``%(name)s`` placeholders the error's data all fill (none missing, none ``None``) is
    said. ``%(message)s`` is the error's own message as written, ``%(sentence)s`` the same as a
    sentence of its own."""

    def __init__(self, *templates: StrOrPromise) -> None:
        assert templates
        self.templates = templates

    def __call__(self, data: Mapping[str, Any]) -> str | None:
        for template in self.templates:
            text = str(template)
            names = PLACEHOLDER.findall(text)
            if all(data.get(name) not in (None, "") for name in names):
                return text % {name: data[name] for name in names}
        return None


# The error's own message, made a sentence: for the generic codes (see the module's docstring).
OWN = Say("%(sentence)s")
# The same, for errors of the floor and the counter whose classes word their message for the
# person at the scanner already (what happened and what to do), with the names it needs.
WORDED = Say("%(sentence)s")

SENTENCES: dict[str, Say] = {
    # ---- omni: every app's common refusals
    CommonErrorCode.NOT_FOUND: OWN,
    CommonErrorCode.VALIDATION_ERROR: OWN,
    CommonErrorCode.CONFLICT: OWN,
    CommonErrorCode.PERMISSION_DENIED: OWN,
    CommonErrorCode.UNKNOWN_CITY: Say(
        _("There is no city %(city)s. Pick a city from the list."),
        _("Omni has no city yet. Ask an administrator to load the rollout file."),
    ),
    CommonErrorCode.UNAUTHENTICATED: Say(_("You are logged out. Log in again and retry.")),
    CommonErrorCode.MALFORMED_REQUEST: Say(
        _("The page sent something Omni could not read. Reload the page and try again.")
    ),
    CommonErrorCode.IDEMPOTENCY_KEY_REUSED: Say(
        _("This was sent twice with different contents. Reload the page and try again.")
    ),
    CommonErrorCode.IDEMPOTENCY_KEY_INVALID: Say(
        _("The page sent something Omni could not read. Reload the page and try again.")
    ),
    CommonErrorCode.METHOD_NOT_ALLOWED: Say(
        _("This page cannot do that. Go back and use its buttons.")
    ),
    CommonErrorCode.REQUEST_TOO_LARGE: Say(
        _("That is too much for one go. Send it in smaller parts.")
    ),
    CommonErrorCode.RATE_LIMITED: Say(
        _("Too many refused tries. Wait %(retry_after)s seconds, then try again."),
    ),
    CommonErrorCode.INTERNAL_ERROR: Say(
        _(
            "Something went wrong in Omni; nothing was changed. Try again, and call support if it"
            " happens again."
        )
    ),
    # ---- inventory
    InventoryErrorCode.INSUFFICIENT_STOCK: Say(
        _(
            "Only %(available)s of %(sku)s are available at %(location)s, not %(requested)s."
            " Take fewer, or look for the rest at a nearby store."
        ),
        _(
            "Only %(available)s of %(sku)s are available, not %(requested)s. Take fewer, or look"
            " for the rest at a nearby store."
        ),
    ),
    InventoryErrorCode.COUNT_BELOW_RESERVED: Say(
        _(
            "You counted %(counted)s of %(sku)s, but %(reserved)s are held for customers here."
            " Count the shelf again; if it really has fewer, tick “Release holds” and post the"
            " count again."
        ),
        _(
            "You counted fewer than are held for customers here. Count the shelf again; if it"
            " really has fewer, tick “Release holds” and post the count again."
        ),
    ),
    InventoryErrorCode.RESERVATION_NOT_ACTIVE: Say(
        _("This hold is %(status_word)s already. Reload the page to see the holds as they are."),
    ),
    InventoryErrorCode.TRANSFER_INVALID_STATE: Say(
        _(
            "Transfer %(transfer)s is %(status_word)s, so this cannot be done now. Reload the"
            " page to see where it stands."
        ),
    ),
    InventoryErrorCode.UNKNOWN_PRODUCT: Say(
        _(
            "No product has the SKU or barcode “%(code)s”. Scan it again, or type the SKU"
            " printed on the label."
        ),
        _("No product has the SKU “%(sku)s”. Check the SKU and try again."),
        _("No product has the SKU “%(first_sku)s”. Check the SKUs and try again."),
    ),
    InventoryErrorCode.UNKNOWN_LOCATION: Say(
        _("This location does not exist or is not yours. Pick one from the list."),
    ),
    InventoryErrorCode.NOT_A_STOCK_LOCATION: Say(
        _(
            "Location %(location)s holds no stock (it is virtual or closed). Pick a store or a"
            " warehouse."
        ),
    ),
    InventoryErrorCode.INACTIVE_PRODUCT: Say(
        _("Product %(sku)s is no longer sold. Set the item aside and tell your supervisor."),
    ),
    InventoryErrorCode.DUPLICATE_LINE: Say(
        _("Product %(sku)s is on two lines. Put it on one line with the total quantity."),
        _("The same SKU is on two lines. Put it on one line with the total quantity."),
    ),
    InventoryErrorCode.BIN_OTHER_LOCATION: Say(
        _("Bin %(bin)s is not at %(location)s. Choose one of this location's own bins."),
    ),
    InventoryErrorCode.BIN_TAKEN: Say(
        _(
            "Bin %(other)s at %(location)s already has code %(bin)s or walking position"
            " %(sequence)s. Choose another code or position."
        ),
    ),
    InventoryErrorCode.RECEIVING_CLOSED: Say(
        _(
            "This delivery was already finished or discarded, so it takes no more scans. Open"
            " the Receive page to see what is still arriving."
        ),
    ),
    InventoryErrorCode.RECEIVING_BOOKED_ELSEWHERE: Say(
        _(
            "This delivery is counted against a purchase order. Finish it on the purchase"
            " order's receiving page, which checks it against the order's lines."
        ),
    ),
    InventoryErrorCode.RECEIVING_REASON_MISSING: Say(
        _(
            "%(sku)s was counted as %(counted)s, not %(expected)s. Choose why for every line"
            " that differs, then finish again."
        ),
    ),
    # ---- network
    NetworkErrorCode.UNKNOWN_CHANNEL: Say(
        _("There is no such sales channel. Pick one from the list."),
    ),
    NetworkErrorCode.UNKNOWN_ROUTING_PROFILE: Say(
        _("This routing profile no longer exists. Reload the page."),
    ),
    RolloutErrorCode.ROLLOUT_FILE_INVALID: Say(
        _("The rollout file has mistakes and nothing was changed: %(message)s"),
    ),
    # ---- orders
    OrderErrorCode.UNKNOWN_ORDER: Say(
        _("This order does not exist or is not handled here. Check the order number."),
    ),
    OrderErrorCode.CHANNEL_NOT_LIVE: Say(
        _(
            "The sales channel %(channel)s does not take orders in %(city)s yet. Ask a planner"
            " whether it should be live."
        ),
        _(
            "The sales channel %(channel)s is switched off. Ask a planner whether it should"
            " be live."
        ),
    ),
    OrderErrorCode.STORE_NOT_LIVE: Say(
        _(
            "Store %(store)s does not offer %(service_word)s today. Pick another store, or ask a"
            " planner to switch it on."
        ),
    ),
    OrderErrorCode.ORDER_INVALID_STATE: Say(
        _(
            "Order %(order)s is %(status_word)s, so this cannot be done now. Reload the page to"
            " see where it stands."
        ),
    ),
    OrderErrorCode.EXTERNAL_ID_REUSED: Say(
        _(
            "Order number %(external_id)s is taken by another order with other items. Check the"
            " number."
        ),
    ),
    OrderErrorCode.MODE_NOT_ALLOWED: Say(
        _("Only the store counter makes counter sales. Use the counter's page for it."),
    ),
    OrderErrorCode.PICKUP_CAPACITY_FULL: Say(
        _(
            "Store %(store)s has no pickup slot left in the next %(days)s days. Offer the"
            " customer a nearby store."
        ),
    ),
    OrderErrorCode.HOLD_TICKET_CLOSED: WORDED,
    OrderErrorCode.HOLD_TICKET_EMPTY: WORDED,
    OrderErrorCode.HOLD_TICKET_INVALID: WORDED,
    OrderErrorCode.HOLD_TICKET_SHORT: WORDED,
    OrderErrorCode.COUNTER_NOT_LIVE: WORDED,
    # ---- fulfillment
    FulfillmentErrorCode.NOTHING_TO_PICK: Say(
        _("Nothing is waiting to be picked here right now. Come back when new orders arrive."),
    ),
    FulfillmentErrorCode.WRONG_ITEM: Say(
        _(
            "Wrong item: you scanned %(scanned)s, but this line wants %(expected)s. Put it back"
            " and scan %(expected)s."
        ),
        _("Every %(sku)s on this list is picked already. Put this one back."),
        _(
            "You scanned %(scanned)s: it is not on this pick list. Put it back and scan the item"
            " the next line asks for."
        ),
    ),
    FulfillmentErrorCode.OVER_PICK: Say(
        _(
            "Too many: this line wants %(wanted)s and %(picked)s are picked already. Put the"
            " extra back."
        ),
    ),
    FulfillmentErrorCode.PICK_LINE_CLOSED: Say(
        _("This line is %(status_word)s already. Go on with the next line."),
    ),
    FulfillmentErrorCode.NOT_PICKED: Say(
        _(
            "Only %(ready)s of %(sku)s are picked and not yet packed. Pack fewer, or pick the"
            " rest first."
        ),
        _("Nothing of order %(order)s is picked at %(location)s yet. Pick it before packing it."),
    ),
    FulfillmentErrorCode.PACKAGE_INVALID_STATE: Say(
        _(
            "Package %(package)s is %(status_word)s already. Reload the page to see where it"
            " stands."
        ),
    ),
    FulfillmentErrorCode.NOT_RETURNABLE: Say(
        _("Only %(returnable)s of %(sku)s can come back on this order. Take back no more."),
        _("Product %(sku)s is not on this order. Check the order and the item."),
    ),
    FulfillmentErrorCode.UNKNOWN_PICK_LIST: Say(
        _("This pick list is not here, or it changed. Open it again from the Pick page."),
    ),
    FulfillmentErrorCode.UNKNOWN_PACKAGE: Say(
        _("This package is not here, or it changed. Reload the page."),
    ),
    FulfillmentErrorCode.PICKUP_CODE_MALFORMED: Say(
        _("This is not a pickup code. Scan it again, or type it."),
    ),
    FulfillmentErrorCode.PICKUP_CODE_FORGED: Say(
        _("Omni never issued this code. Do not hand over; call a manager."),
    ),
    FulfillmentErrorCode.PICKUP_CODE_TAMPERED: Say(
        _("This code was altered after it was issued. Do not hand over; call a manager."),
    ),
    FulfillmentErrorCode.PICKUP_CODE_EXPIRED: Say(
        _("The pickup time is over: the order goes back to stock. The customer can order again."),
    ),
    FulfillmentErrorCode.PICKUP_CODE_WRONG_STORE: Say(
        _("This order is collected at %(store)s, not here. Send the customer there."),
    ),
    FulfillmentErrorCode.PICKUP_CODE_USED: Say(
        _("Order %(order)s is %(status_word)s: do not hand it over. Call a manager."),
        _("This code was used already: the order has been handed over. Do not hand over again."),
    ),
    FulfillmentErrorCode.PICKUP_NOT_READY: Say(
        _(
            "Order %(order)s is not fully picked yet. Finish its pick list, then mark it ready"
            " for pickup."
        ),
    ),
    FulfillmentErrorCode.PICKUP_SHORT_CODE_INVALID: WORDED,
    FulfillmentErrorCode.PICKUP_SHORT_CODE_WRONG: WORDED,
    FulfillmentErrorCode.PICKUP_SHORT_CODES_PAUSED: WORDED,
    FulfillmentErrorCode.PICK_LIST_DONE: Say(
        _("Pick list %(pick_list)s is picked already. Take the totes to packing."),
    ),
    FulfillmentErrorCode.PICK_TASK_CLOSED: Say(
        _("This stop is %(status_word)s already. Go on to the next stop the page shows."),
    ),
    FulfillmentErrorCode.UNKNOWN_PICK_TASK: Say(
        _("This stop is not on this pick list. Reload the page to see the current stop."),
    ),
    FulfillmentErrorCode.NOT_FULLY_PICKED: WORDED,
    FulfillmentErrorCode.NOT_IN_ORDER: WORDED,
    FulfillmentErrorCode.OVER_PACK: WORDED,
    FulfillmentErrorCode.NOTHING_TO_SORT: WORDED,
    # ---- forecasting
    ForecastErrorCode.DEMAND_FILE_INVALID: Say(
        _("The demand file has mistakes and nothing was imported: %(message)s"),
    ),
    ForecastErrorCode.UNKNOWN_FORECAST_RUN: Say(
        _("This forecast run does not exist. Open it from the list of runs."),
    ),
    ForecastErrorCode.UNKNOWN_MODEL: Say(
        _("Omni has no forecasting model called %(models_named)s. Pick one it knows."),
    ),
    ForecastErrorCode.FORECAST_RUN_IN_PROGRESS: Say(
        _("Run %(run)s of this city is still going. Wait for it to finish, or cancel it first."),
        _("A forecast of this city is still going. Wait for it to finish, or cancel it first."),
    ),
    ForecastErrorCode.FORECAST_RUN_NOT_READY: Say(
        _("Forecast run %(run)s is %(status_word)s, so it has no forecasts yet. Wait for it."),
    ),
    ForecastErrorCode.FORECAST_RUN_FINISHED: Say(
        _("Forecast run %(run)s is %(status_word)s already. There is nothing left to stop."),
    ),
    ForecastErrorCode.NO_DEMAND_HISTORY: Say(
        _(
            "There is no sales history to forecast from yet. Import a demand file, or wait"
            " until the stores have sold."
        ),
    ),
    ForecastErrorCode.NO_FORECAST: Say(
        _("No finished forecast covers this SKU here yet. Start a forecast run first."),
    ),
    # ---- allocation
    AllocationErrorCode.NO_PLAN: Say(
        _(
            "Allocation run %(run)s ended %(status_word)s, with no plan to approve. Start a new"
            " run, perhaps with a longer time limit."
        ),
    ),
    AllocationErrorCode.ALREADY_DECIDED: Say(
        _(
            "Allocation run %(run)s was %(decision_word)s already. Nothing more to decide; start"
            " a new run for a new plan."
        ),
    ),
    # ---- purchasing
    PurchasingErrorCode.SUPPLIER_INVALID: Say(
        _("Check “%(field)s” of the supplier: %(message)s"),
    ),
    PurchasingErrorCode.SUPPLIER_ITEM_INVALID: Say(
        _("Check “%(field)s” of %(sku)s from %(supplier)s: %(message)s"),
    ),
    PurchasingErrorCode.REORDER_POLICY_INVALID: Say(
        _("Check “%(field)s” of the policy for %(sku)s at %(location)s: %(message)s"),
    ),
    PurchasingErrorCode.REORDER_POLICY_NOT_CLASSIFIED: Say(
        _(
            "%(sku)s has no class at %(location)s yet, so there is no suggestion to go back to."
            " Classify %(location)s first."
        ),
    ),
    PurchasingErrorCode.POLICY_CLASSIFICATION_INVALID: Say(
        _("Nothing was classified. Check “%(field)s”: %(message)s"),
    ),
    PurchasingErrorCode.PURCHASE_ORDER_LINE_INVALID: Say(
        _("This purchase order cannot be saved: %(message)s Correct the line and try again."),
    ),
    PurchasingErrorCode.EXCHANGE_RATE_INVALID: Say(
        _("The exchange rate was not saved. Check “%(field)s”: %(message)s"),
    ),
    PurchasingErrorCode.EXCHANGE_RATE_MISSING: Say(
        _(
            "There is no exchange rate for %(currency)s on %(date)s, so this purchase cannot be"
            " valued. Ask finance to set one (Admin → Exchange rates), then try again."
        ),
    ),
    PurchasingErrorCode.SUPPLIER_INACTIVE: Say(
        _(
            "Supplier %(supplier)s is no longer active. Choose another supplier, or make it"
            " active again first."
        ),
    ),
    PurchasingErrorCode.SUPPLIER_DOES_NOT_DELIVER: Say(
        _(
            "Supplier %(supplier)s does not deliver to %(location)s. Ship to a location it"
            " delivers to, or choose another supplier."
        ),
    ),
    PurchasingErrorCode.PURCHASE_ORDER_INVALID_STATE: Say(
        _(
            "Purchase order %(purchase_order)s is %(status_word)s, so this cannot be done now."
            " Reload it to see where it stands."
        ),
    ),
    PurchasingErrorCode.NOT_ON_PURCHASE_ORDER: Say(
        _(
            "%(sku)s is not on purchase order %(purchase_order)s. Put it aside and call a"
            " supervisor, or scan the next item."
        ),
    ),
    PurchasingErrorCode.OVER_RECEIPT: Say(
        _(
            "You counted %(counted)s of %(sku)s, more than the order allows: at most"
            " %(allowed)s more can be received. Count again, and put the extra aside for a"
            " supervisor."
        ),
    ),
    PurchasingErrorCode.RECEIPT_REASON_MISSING: Say(
        _(
            "Say why %(sku)s differs from the order (more than ordered, or closed short), then"
            " finish again."
        ),
    ),
    # ---- loyalty
    LoyaltyErrorCode.CAMPAIGN_INVALID: Say(
        _("The campaign's %(field)s is not right: %(message)s. Correct it; nothing was saved."),
    ),
    LoyaltyErrorCode.CAMPAIGN_NOT_ACTIVE: Say(
        _("Campaign %(campaign)s is not running now. Nothing was issued or redeemed."),
    ),
    LoyaltyErrorCode.CAMPAIGN_BUDGET_EXHAUSTED: Say(
        _("Campaign %(campaign)s has spent its budget: the coupon gives no more discount."),
    ),
    LoyaltyErrorCode.CAMPAIGN_ISSUE_CAP_REACHED: Say(
        _("Campaign %(campaign)s has issued all its coupons. Raise its cap to issue more."),
    ),
    LoyaltyErrorCode.CAMPAIGN_NOT_OFFERED: Say(
        _("Campaign %(campaign)s is not offered to this member: they are in its control group."),
    ),
    LoyaltyErrorCode.MEMBER_LIMIT_REACHED: Say(
        _("This member has used campaign %(campaign)s as often as it allows. Sell without it."),
    ),
    LoyaltyErrorCode.MEMBER_PHONE_INVALID: Say(
        _("That is not a phone number. Type 6 to 20 digits, with + for another country."),
    ),
    LoyaltyErrorCode.MEMBER_PHONE_TAKEN: Say(
        _("This phone number belongs to member %(member)s already. Look them up instead."),
    ),
    LoyaltyErrorCode.UNKNOWN_MEMBER: Say(
        _("No member found. Check the number, or ask the customer to join."),
    ),
    LoyaltyErrorCode.UNKNOWN_CAMPAIGN: Say(
        _("This campaign is not here, or it changed. Reload the page."),
    ),
    LoyaltyErrorCode.UNKNOWN_COUPON: Say(
        _("This coupon is not here. Scan it again."),
    ),
    LoyaltyErrorCode.COUPON_CODE_MALFORMED: Say(
        _("This is not a coupon code. Scan it again, or type it."),
    ),
    LoyaltyErrorCode.COUPON_CODE_NOT_CANONICAL: Say(
        _("This coupon code is not written as Omni prints it. Scan the original code."),
    ),
    LoyaltyErrorCode.COUPON_CODE_FORGED: Say(
        _("Omni never issued this coupon. Do not accept it; call a manager."),
    ),
    LoyaltyErrorCode.COUPON_CODE_TAMPERED: Say(
        _("This coupon was altered after it was issued. Do not accept it; call a manager."),
    ),
    LoyaltyErrorCode.COUPON_EXPIRED: Say(
        _("This coupon has expired. Sell without it."),
    ),
    LoyaltyErrorCode.COUPON_WRONG_STORE: Say(
        _("This coupon is not valid at %(store)s. Sell without it."),
    ),
    LoyaltyErrorCode.COUPON_ALREADY_USED: Say(
        _("This coupon was used already. Do not accept it again."),
    ),
    LoyaltyErrorCode.COUPON_VOID: Say(
        _("This coupon was withdrawn. Sell without it."),
    ),
    LoyaltyErrorCode.COUPON_NOT_APPLICABLE: WORDED,
    LoyaltyErrorCode.COUPON_NOT_YOURS: Say(
        _("This coupon belongs to another member. Scan the customer's own member card."),
    ),
    LoyaltyErrorCode.CARD_CODE_REFUSED: WORDED,
    LoyaltyErrorCode.OFFLINE_ALLOWANCE_EXCEEDED: Say(
        _("%(store)s has used its offline coupon allowance today. A manager will review it."),
    ),
    LoyaltyErrorCode.DISCREPANCY_RESOLVED: Say(
        _("Someone resolved this discrepancy already. Reload the page."),
    ),
    # ---- replenishment proposals
    ProposalErrorCode.NOT_READY: Say(
        _(
            "Proposal %(run)s is %(status_word)s, so it cannot be reviewed yet. Wait for it to"
            " finish, or start a new one if it failed."
        ),
    ),
    ProposalErrorCode.ALREADY_DECIDED: Say(
        _(
            "Proposal %(run)s was %(decision_word)s already. Nothing more to change; its purchase"
            " orders are on the Purchase orders page."
        ),
    ),
    ProposalErrorCode.QUANTITY_NOT_ORDERABLE: Say(
        _(
            "The supplier sells %(sku)s from %(moq)s, in packs of %(multiple)s: %(quantity)s"
            " cannot be ordered. Enter %(suggested)s, or 0 to buy none."
        ),
    ),
    ProposalErrorCode.PARAMETER_INVALID: Say(_("%(sentence)s")),
}

# Classes that share a generic code but always mean the same thing.
CLASS_SENTENCES: dict[type[ApplicationError], Say] = {
    UnknownBin: Say(
        _("There is no bin %(bin)s at %(location)s. Check the label, or pick a bin from the list."),
    ),
    NotOnDocument: Say(
        _(
            "%(sku)s is not on transfer %(transfer)s. Put it aside and call a supervisor, or"
            " scan the next item."
        ),
    ),
    UnknownReservation: Say(
        _("This hold is gone: it was released or sold. Reload the page to see the holds.")
    ),
    UnknownTransfer: Say(
        _("This transfer does not exist or does not come here. Open it from the Receive page.")
    ),
    UnknownAllocationRun: Say(
        _("This allocation run does not exist. Open it from the list of runs.")
    ),
    UnknownProposalRun: Say(_("This proposal does not exist. Open it from the list of proposals.")),
    UnknownProposalLine: Say(
        _("This line is not on the proposal. Reload the page to see its lines.")
    ),
    QuantityInvalid: Say(
        _("Enter a whole number from %(low)s to %(high)s."),
        _("Enter a whole number."),
    ),
    NoLines: Say(_("Nothing to post yet. Scan at least one item first.")),
    ShortPickInvalid: Say(
        _(
            "Enter how many you found: from %(picked)s (picked already) to %(most)s. If you"
            " found them all, scan them instead."
        ),
    ),
    RoleNotAllowed: Say(_("Your role cannot do this. Ask your supervisor.")),
    UnitCostInvalid: Say(
        _("The unit cost of %(sku)s must be a number from 0 to %(high)s. Correct it and save."),
        _("The unit cost must be a number from 0 to %(high)s. Correct it and save."),
    ),
    UnknownSupplier: Say(_("This supplier does not exist. Pick one from the list of suppliers.")),
    UnknownReorderPolicy: Say(
        _("This SKU has no reorder policy here yet. Set one, or classify the location first.")
    ),
    UnknownPurchaseOrder: Say(
        _(
            "This purchase order does not exist or does not come here. Open it from the"
            " Receive page."
        )
    ),
}


def _data(exc: ApplicationError) -> dict[str, Any]:
    """Everything a sentence may name: the detail, the message's params, the first line of a
    ``lines`` detail, statuses and services in words."""
    data: dict[str, Any] = {}
    detail = exc.detail if isinstance(exc.detail, Mapping) else {}
    lines = detail.get("lines")
    if isinstance(lines, list) and lines and isinstance(lines[0], Mapping):
        data.update(lines[0])
    data.update({k: v for k, v in detail.items() if not isinstance(v, list | dict)})
    data.update(exc.params or {})
    skus = detail.get("skus")
    if isinstance(skus, list) and skus:
        data["first_sku"] = skus[0]
    models = detail.get("models")
    if isinstance(models, list) and models:
        data["models_named"] = ", ".join(f"“{m}”" for m in models)
    for key in ("status", "order_status"):
        word = STATUS_WORDS.get(str(data.get(key, "")))
        if word is not None:
            data.setdefault("status_word", str(word))
    decision = STATUS_WORDS.get(str(data.get("decision", "")))
    if decision is not None:
        data["decision_word"] = str(decision)
    service = SERVICE_WORDS.get(str(data.get("service", "")))
    if service is not None:
        data["service_word"] = str(service)
    if "retry_after" not in data and isinstance(getattr(exc, "retry_after", None), int):
        data["retry_after"] = exc.retry_after  # type: ignore[attr-defined]
    data["message"] = _ended(exc.message)  # inside a sentence of ours: as it is written
    data["sentence"] = as_sentence(exc.message)
    return data


def _ended(text: str) -> str:
    """``text`` on one line, with a full stop (a Chinese one after Chinese) unless it has one."""
    text = " ".join(str(text).split())
    if not text or text.endswith(SENTENCE_END):
        return text
    return text + ("。" if "\u4e00" <= text[-1] <= "\u9fff" else ".")


def as_sentence(text: str) -> str:
    """``text`` as a sentence of its own: a capital first letter and a full stop."""
    text = _ended(text)
    return text[:1].upper() + text[1:]


def staff_message(exc: ApplicationError) -> str:
    """The sentence a staff page shows for ``exc``, in the active language."""
    data = _data(exc)
    for cls in type(exc).__mro__:
        say = CLASS_SENTENCES.get(cls)
        if say is not None:
            said = say(data)
            if said is not None:
                return said
    say = SENTENCES.get(str(exc.code))
    said = say(data) if say is not None else None
    return said if said is not None else data["sentence"]
