"""Writing a plan's changes, all or nothing, through the services that audit them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.db import models, transaction

from inventory.models import Location
from inventory.services import location_save
from network.locks import lock_location_service
from network.models import (
    Channel,
    ChannelBuffer,
    ChannelCity,
    ChannelLocation,
    LocationService,
    RoutingProfile,
    ShelfProtection,
)
from network.services import (
    channel_buffer_set,
    channel_city_remove,
    channel_city_save,
    channel_location_remove,
    channel_location_save,
    channel_save,
    location_capacity_set,
    location_service_remove,
    location_service_save,
    routing_profile_activate,
    routing_profile_create,
    routing_profile_deactivate,
    shelf_protection_remove,
    shelf_protection_save,
)
from omni.models import City, Role, User
from omni.services import city_save

from .diff import _BY_CODE, _changes, _plan_database_issues
from .parse import _raise_if_any
from .plan import CAPACITY_FIELDS, ROLLOUT_SOURCE, Change, RolloutPlan


@transaction.atomic
def rollout_apply(plan: RolloutPlan) -> list[Change]:
    """Bring the database in line with the plan, all or nothing; returns what changed (nothing
    when it already was)."""
    _raise_if_any(plan.file, _plan_database_issues(plan))
    changes = _changes(plan)
    for change in changes:
        _write(change)
    return changes


def _resolve(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: _BY_CODE[name]._default_manager.get(code=value)
        if name in _BY_CODE and value is not None
        else value
        for name, value in values.items()
    }


SAVES: dict[type[models.Model], Callable[..., Any]] = {
    City: city_save,
    Location: location_save,
    LocationService: location_service_save,
    ShelfProtection: shelf_protection_save,
    Channel: channel_save,
    ChannelCity: channel_city_save,
    ChannelLocation: channel_location_save,
}
REMOVES: dict[type[models.Model], Callable[..., None]] = {
    LocationService: location_service_remove,
    ShelfProtection: shelf_protection_remove,
    ChannelCity: channel_city_remove,
    ChannelLocation: channel_location_remove,
}


def _write(change: Change) -> None:
    """One change, through the service that owns its row."""
    if change.model is ChannelBuffer:
        _write_buffer(change)
        return
    if change.model is RoutingProfile:
        _write_routing(change)
        return
    lookup = _resolve(change.lookup)
    if change.action == "delete":
        REMOVES[change.model](**lookup)
        return
    values = _resolve({name: new for name, (_, new) in change.fields.items()})
    capacity = {f: values.pop(f) for f in CAPACITY_FIELDS if f in values}
    if change.action == "create" and change.model is Channel:
        values["user"] = _channel_user(values["user"])
    if change.action == "create" or values:
        SAVES[change.model](**lookup, **values)
    if capacity:
        _write_capacity(lookup, capacity)


def _write_capacity(lookup: Mapping[str, Any], changed: Mapping[str, Any]) -> None:
    """Through the service, for its audit row. The service sets the limit and both hours at
    once, so the fields this change leaves alone are passed as they are, read under the row
    lock the service then takes again in the same transaction."""
    row = lock_location_service(lookup["location"], lookup["service"])
    assert row is not None  # the change was computed from this row, in this transaction
    values = {f: getattr(row, f) for f in CAPACITY_FIELDS} | dict(changed)
    location_capacity_set(
        location=lookup["location"],
        service=lookup["service"],
        daily_capacity=values["daily_capacity"],
        opens_at=values["opens_at"],
        closes_at=values["closes_at"],
        actor=None,
        source=ROLLOUT_SOURCE,
    )


def _write_buffer(change: Change) -> None:
    lookup = _resolve(change.lookup)
    ((_, units),) = change.fields.values()
    channel_buffer_set(
        channel=lookup["channel"],
        location=lookup["location"],
        units=units,  # None on delete: the service removes the row
        actor=None,
        source=ROLLOUT_SOURCE,
    )


def _write_routing(change: Change) -> None:
    lookup = _resolve(change.lookup)
    if change.action == "create":
        draft = routing_profile_create(
            channel=lookup["channel"],
            city=lookup["city"],
            rules=change.fields["rules"][1],
            when_short=change.fields["when_short"][1],
            note=change.fields.get("note", (None, ""))[1],
            actor=None,
            source=ROLLOUT_SOURCE,
        )
        routing_profile_activate(profile=draft, actor=None, source=ROLLOUT_SOURCE)
        return
    # Retiring: the version a new one replaces was retired when that one was activated (just
    # before, in the same apply); the service then has nothing left to do.
    profile = RoutingProfile.objects.get(channel=lookup["channel"], version=lookup["version"])
    routing_profile_deactivate(profile=profile, actor=None, source=ROLLOUT_SOURCE)


def _channel_user(username: str) -> User:
    """The integration user of a new channel: it signs in with API tokens only."""
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, role=Role.CHANNEL)
        user.set_unusable_password()
        user.save()
    return user
