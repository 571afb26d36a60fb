"""The members lookup (under ``/staff/loyalty/members/``): type a member's full phone number,
see the member — the phone only as its last four digits, the card, their coupons. Staff never
see a phone number in full: the number is found through its keyed hash (docs/loyalty.md).

Marketing, planners and administrators (``marketing_page``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from loyalty.errors import UnknownMember
from loyalty.models import Coupon, Member
from loyalty.services.members import phone_hash
from omni.errors import ApplicationError
from staff.views.common import Notice, ScanInput, Staff, marketing_page

COUPONS_SHOWN = 50


class MemberLookupForm(forms.Form):
    phone = forms.CharField(
        label=_("Phone number"),
        max_length=32,
        widget=ScanInput({"inputmode": "tel", "autocomplete": "off"}),
    )


def member_by_phone(phone: str) -> Member:
    """The member with this full phone number, or ``UnknownMember`` (``MemberPhoneInvalid`` for
    a number that is not one)."""
    member = (
        Member.objects.select_related("home_store", "joined_store", "joined_channel")
        .filter(phone_hash=phone_hash(phone))
        .first()
    )
    if member is None:
        raise UnknownMember()
    return member


@marketing_page("members")
def member_lookup(request: HttpRequest, staff: Staff) -> HttpResponse:
    form = MemberLookupForm(request.GET if "phone" in request.GET else None)
    context: dict[str, Any] = {"staff": staff, "form": form, "member": None, "notice": None}
    if form.is_bound and form.is_valid():
        try:
            member = member_by_phone(form.cleaned_data["phone"])
        except ApplicationError as exc:
            context["notice"] = Notice.failure(exc)
        else:
            context["member"] = member
            context["coupons"] = list(
                Coupon.objects.filter(member=member)
                .select_related("campaign", "redeemed_store")
                .order_by("-issued_at")[:COUPONS_SHOWN]
            )
            # The form keeps no full number on the page once the member is found.
            context["form"] = MemberLookupForm()
    return render(request, "loyalty/members.html", context)
