"""API schemas of how a city is served (channel buffers, routing profiles, capacity and hours,
the audit), in ``XIn`` / ``XOut`` pairs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import field_validator

from inventory.schemas import LocationCode
from omni.schemas import FreeText, InputSchema

from .models import Service
from .routing_rules import RULE_NAMES, RuleError, parse_rules

Slug = Annotated[str, Field(min_length=1, max_length=32)]
MAX_SETTING = 1_000_000
MAX_RULES = 2 * len(RULE_NAMES)  # room for a duplicate, which parse_rules names
Setting = Annotated[int, Field(strict=True, ge=0, le=MAX_SETTING)]
WhenShort = Literal["park", "refuse", "backorder"]


class ChannelBufferIn(InputSchema):
    """Both fields are required: ``location`` null is the channel's default at every location
    without its own row, ``units`` null removes the row."""

    location: LocationCode | None
    units: Setting | None


class LocationBufferOut(Schema):
    location: str
    units: int


class ChannelBuffersOut(Schema):
    channel: str
    default: int | None  # units kept back at every location without its own row
    locations: list[LocationBufferOut]


class RoutingProfileIn(InputSchema):
    channel: Slug
    city: Slug | None = None  # none: every city without a profile of its own
    rules: Annotated[list[Any], Field(max_length=MAX_RULES)]
    when_short: WhenShort = "park"
    note: Annotated[FreeText, Field(max_length=255)] = ""


class RoutingRuleOut(Schema):
    rule: str
    params: dict[str, Any]
    description: str


class RoutingProfileOut(Schema):
    id: int
    channel: str = Field(alias="channel.code")
    city: str | None = Field(None, alias="city.code")
    version: int
    status: str
    rules: list[RoutingRuleOut]
    when_short: str
    note: str
    created_by: str | None
    created_at: datetime
    activated_by: str | None
    activated_at: datetime | None

    @staticmethod
    def resolve_rules(obj: Any) -> list[dict[str, Any]]:
        try:
            rules = parse_rules(obj.rules)
        except RuleError:  # a row written outside the services: show the names as stored
            stored = obj.rules if isinstance(obj.rules, list) else []
            return [
                {
                    "rule": str(r.get("rule") if isinstance(r, Mapping) else r),
                    "params": {},
                    "description": "",
                }
                for r in stored
            ]
        return [
            {"rule": r.name, "params": dict(r.params), "description": r.describe()} for r in rules
        ]

    @staticmethod
    def resolve_created_by(obj: Any) -> str | None:
        return obj.created_by.username if obj.created_by_id else None

    @staticmethod
    def resolve_activated_by(obj: Any) -> str | None:
        return obj.activated_by.username if obj.activated_by_id else None


def _local_time(value: time | None) -> time | None:
    # Opening hours are the store's local wall clock; an offset has no meaning there.
    if value is not None and value.tzinfo is not None:
        raise ValueError("a local time without an offset, e.g. 09:00")
    return value


class LocationCapacityIn(InputSchema):
    """Every field is required (null clears it): the three settings are set together."""

    service: Service
    daily_capacity: Setting | None  # orders a day; null: no limit
    opens_at: time | None  # pickups: local opening hours, both or neither
    closes_at: time | None

    @field_validator("opens_at", "closes_at")
    @classmethod
    def local_time(cls, value: time | None) -> time | None:
        return _local_time(value)


class LocationCapacityOut(Schema):
    location: str = Field(alias="location.code")
    service: str
    starts_on: date
    daily_capacity: int | None
    opens_at: time | None
    closes_at: time | None


class ConfigChangeOut(Schema):
    id: int
    at: datetime
    actor: str | None
    source: str
    kind: str
    target: str
    old: Any
    new: Any

    @staticmethod
    def resolve_actor(obj: Any) -> str | None:
        return obj.actor.username if obj.actor_id else None
