"""Members, a campaign and its draw made directly, for the tests of what the effect reads
(the effect only reads them; how they are made is the loyalty services' business)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from inventory.models import Location
from loyalty.models import Campaign, CampaignAssignment, Member


def make_member(number: str, home_store: Location | None) -> Member:
    return Member.objects.create(
        number=number, phone_hash=f"hash-{number}", phone_last4=number[-4:], home_store=home_store
    )


def make_campaign(code: str = "spring") -> Campaign:
    now = timezone.now()
    return Campaign.objects.create(
        code=code,
        name=code.title(),
        kind="percent_off",
        percent_off=Decimal("10"),
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=6),
        budget=Decimal("1000"),
        holdout_seed=7,
    )


def assign(campaign: Campaign, member: Member, group: str) -> None:
    CampaignAssignment.objects.create(
        campaign=campaign, member=member, group=group, draw=0.5, seed=7
    )
