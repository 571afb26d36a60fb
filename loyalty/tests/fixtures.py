"""Fixtures of loyalty (a pytest plugin, listed in the root conftest): campaigns and members
made through the services, in the test city of network's fixtures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from loyalty.models import Campaign, CampaignStatus, Member
from loyalty.services import CampaignRule, campaign_create, member_create


@pytest.fixture
def make_campaign(db: object) -> Callable[..., Campaign]:
    """A running campaign: 10 % off everything, budget 1,000, no holdout unless given."""
    made = iter(range(1, 10_000))

    def make(**fields: Any) -> Campaign:
        now = timezone.now()
        rule: dict[str, Any] = {
            "code": f"c{next(made)}",
            "name": "Spring",
            "kind": "percent_off",
            "percent_off": Decimal("10"),
            "starts_at": now - timedelta(days=1),
            "ends_at": now + timedelta(days=30),
            "budget": Decimal("1000"),
            "holdout_share": Decimal("0"),
            "status": CampaignStatus.ACTIVE,
        }
        rule.update(fields)
        return campaign_create(rule=CampaignRule(**rule))

    return make


@pytest.fixture
def make_member(db: object) -> Callable[..., Member]:
    phones = iter(range(13_800_000_000, 13_900_000_000))

    def make(**fields: Any) -> Member:
        fields.setdefault("phone", str(next(phones)))
        return member_create(**fields)

    return make
