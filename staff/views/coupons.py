"""The counter's coupon page (``/staff/coupons/``): the clerk scans the customer's coupon (and
member card) and types the sale's items; the page checks the coupon's Ed25519 signature in the
browser with the public key alone (``staff/static/staff/coupon.js``) before asking the server,
then redeems it online. While the store is offline the page accepts a genuine coupon within the
store's daily allowance and queues it in the browser; on reconnect it uploads the queue here,
and a coupon that was also used elsewhere comes back as a discrepancy for a person, never
accepted twice (docs/loyalty.md, "At the counter").

Store staff at their store and administrators (``COUNTER_ROLES``). The two POST endpoints
answer JSON for the script: ``{ok, outcome, message, code, discount}``, the message a sentence
for people (``staff.messages``), the code for support and tests.
"""

from __future__ import annotations

import base64
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from cryptography.hazmat.primitives import serialization
from django import forms
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from inventory.models import Location
from loyalty.models import Campaign, CampaignStatus, DiscrepancyStatus, RedemptionDiscrepancy
from loyalty.services import (
    OfflineRedemption,
    SaleLine,
    coupon_redeem_at_counter,
    member_from_card,
    offline_redemption_record,
    store_allowance,
)
from network.models import Channel, ChannelKind
from omni import signing
from omni.errors import ApplicationError, InvalidInput
from staff.messages import staff_message
from staff.views.common import COUNTER_ROLES, ScanInput, Staff, product_by_code, staff_page

MAX_ITEMS = 50


class CouponForm(forms.Form):
    code = forms.CharField(label=_("Coupon"), max_length=400, widget=ScanInput())
    card = forms.CharField(
        label=_("Member card (optional)"),
        max_length=400,
        required=False,
        widget=forms.TextInput({"autocomplete": "off", "spellcheck": "false"}),
    )
    items = forms.CharField(
        label=_("Items: SKU or barcode, quantity, unit price — one per line"),
        widget=forms.Textarea({"rows": 3, "placeholder": "TEA-500 2 12.50"}),
    )
    sale_reference = forms.CharField(label=_("Receipt number"), max_length=64, required=False)


def sale_lines(text: str) -> list[SaleLine]:
    """The sale's items from "SKU quantity price" lines (the price may be left out: the
    product's own), or ``InvalidInput`` saying which line is wrong."""
    lines: list[SaleLine] = []
    for number, raw in enumerate(text.strip().splitlines(), start=1):
        words = raw.split()
        if not words:
            continue
        if len(words) > 3 or len(lines) >= MAX_ITEMS:
            raise _bad_line(number)
        product = product_by_code(words[0])
        try:
            quantity = int(words[1]) if len(words) > 1 else 1
            price = Decimal(words[2]) if len(words) > 2 else product.price
        except (ValueError, InvalidOperation) as exc:
            raise _bad_line(number) from exc
        if quantity < 1 or quantity > 9999 or not price.is_finite() or price < 0:
            raise _bad_line(number)
        lines.append(SaleLine(sku=product.sku, quantity=quantity, unit_price=price))
    if not lines:
        raise InvalidInput.saying(_("type the sale's items"), detail={"field": "items"})
    return lines


def _bad_line(number: int) -> InvalidInput:
    return InvalidInput.saying(
        _("item line %(line)s should read: SKU, quantity, unit price"),
        detail={"field": "items", "line": number},
        line=number,
    )


def store_pos_channel(store: Location) -> Channel | None:
    """The till's channel at ``store``: a counter sale's redemption counts there."""
    return (
        Channel.objects.filter(kind=ChannelKind.STORE_POS, locations__location=store)
        .order_by("id")
        .first()
    )


def public_key_raw_b64() -> str:
    raw = signing.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return base64.b64encode(raw).decode()


def offline_rules(store: Location) -> dict[str, dict[str, Any]]:
    """The running campaigns' rules, for the page to compute a discount while offline."""
    now = timezone.now()
    campaigns = Campaign.objects.filter(
        status=CampaignStatus.ACTIVE, starts_at__lte=now, ends_at__gt=now
    ).prefetch_related("products")
    return {
        str(c.pk): {
            "kind": c.kind,
            "percent_off": str(c.percent_off or ""),
            "amount_off": str(c.amount_off or ""),
            "min_spend": str(c.min_spend),
            "skus": [p.sku for p in c.products.all()],
            "categories": list(c.categories or []),
        }
        for c in campaigns
    }


@staff_page("coupons", roles=COUNTER_ROLES)
def coupons(request: HttpRequest, staff: Staff) -> HttpResponse:
    store = staff.require_write()
    count, amount = store_allowance(store)
    discrepancies = RedemptionDiscrepancy.objects.filter(
        store=store, status=DiscrepancyStatus.OPEN
    ).order_by("-created_at")[:20]
    context = {
        "staff": staff,
        "form": CouponForm(),
        "public_key": public_key_raw_b64(),
        "store": store,
        "allowance_count": count,
        "allowance_amount": amount,
        "rules": offline_rules(store),
        "discrepancies": discrepancies,
    }
    return render(request, "loyalty/coupons.html", context)


def _refused(exc: ApplicationError) -> JsonResponse:
    body = {"ok": False, "outcome": "refused", "message": staff_message(exc), "code": exc.code}
    return JsonResponse(body, status=exc.http_status)


@require_POST
@staff_page("coupons", roles=COUNTER_ROLES)
def coupon_redeem(request: HttpRequest, staff: Staff) -> HttpResponse:
    store = staff.require_write()
    form = CouponForm(request.POST)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        message = f"{form.fields[field].label}: {' '.join(str(e) for e in errors)}"
        return JsonResponse(
            {"ok": False, "outcome": "refused", "message": message, "code": "validation_error"},
            status=422,
        )
    data = form.cleaned_data
    try:
        lines = sale_lines(data["items"])
        member = member_from_card(data["card"]) if data["card"] else None
        redemption = coupon_redeem_at_counter(
            code=data["code"],
            store=store,
            lines=lines,
            sale_reference=data["sale_reference"],
            member=member,
            channel=store_pos_channel(store),
            actor=staff.user,
        )
    except ApplicationError as exc:
        return _refused(exc)
    amount = f"{redemption.amount:.2f}"
    message = gettext("Coupon redeemed: %(amount)s off this sale.") % {"amount": amount}
    return JsonResponse({"ok": True, "outcome": "redeemed", "message": message, "discount": amount})


@require_POST
@staff_page("coupons", roles=COUNTER_ROLES)
def coupon_sync(request: HttpRequest, staff: Staff) -> HttpResponse:
    """One redemption the page accepted offline; the same ``client_id`` again answers the
    first outcome (the page may send it twice when an answer is lost)."""
    store = staff.require_write()
    post = request.POST
    client_id = post.get("client_id", "").strip()[:64]
    accepted_at = parse_datetime(post.get("accepted_at", ""))
    try:
        amount = Decimal(post.get("discount", ""))
    except InvalidOperation:
        amount = Decimal("NaN")
    if not client_id or accepted_at is None or not amount.is_finite() or amount < 0:
        exc = InvalidInput.saying(_("the till sent an incomplete offline redemption"))
        return _refused(exc)
    item = OfflineRedemption(
        client_id=client_id,
        code=post.get("code", "")[:400],
        amount=amount.quantize(Decimal("0.01")),
        accepted_at=_aware(accepted_at),
        sale_reference=post.get("sale_reference", "")[:64],
    )
    result = offline_redemption_record(store=store, item=item, actor=staff.user)
    if result.result == "accepted":
        message = gettext("A coupon accepted offline is recorded.")
        return JsonResponse({"ok": True, "outcome": "accepted", "message": message})
    message = gettext(
        "A coupon accepted offline could not be recorded (%(reason)s): a person must look "
        "at it. Receipt %(receipt)s."
    ) % {"reason": _reason_words(result.reason), "receipt": item.sale_reference or "—"}
    return JsonResponse(
        {"ok": False, "outcome": "discrepancy", "message": message, "code": result.reason}
    )


def _aware(moment: datetime) -> datetime:
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def _reason_words(code: str) -> str:
    words = {
        "coupon_already_used": gettext("it was also used elsewhere"),
        "offline_allowance_exceeded": gettext("over the store's offline allowance"),
        "campaign_budget_exhausted": gettext("the campaign's budget ran out"),
        "coupon_void": gettext("the coupon was void"),
    }
    return words.get(code, gettext("refused"))
