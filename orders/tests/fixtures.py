"""A live pilot city for order tests: a DC and two stores serving a web channel (delivery and
pickup) and a counter channel, set up the way a rollout file would."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from conftest import make_user
from inventory.models import Location, LocationKind, Product
from inventory.services import stock_receive
from network.models import (
    Channel,
    ChannelCity,
    ChannelKind,
    ChannelLocation,
    LocationService,
    Service,
    ShelfProtection,
)
from omni.models import City, Role

LONG_AGO = date(2020, 1, 1)


def go_live(location: Location, *services: Service, on: date = LONG_AGO) -> None:
    for service in services:
        LocationService.objects.update_or_create(
            location=location, service=service, defaults={"starts_on": on}
        )


def make_channel(
    code: str, kind: str, city: City, serves: list[Location], **fields: Any
) -> Channel:
    user = make_user(f"channel-{code}", Role.CHANNEL)
    channel = Channel.objects.create(code=code, name=code.title(), kind=kind, user=user, **fields)
    ChannelCity.objects.create(channel=channel, city=city, starts_on=LONG_AGO)
    for priority, location in enumerate(serves, start=1):
        ChannelLocation.objects.create(channel=channel, location=location, priority=priority)
    return channel


@pytest.fixture
def live_city(city: City, dc: Location, store: Location, store2: Location) -> City:
    go_live(dc, Service.SHIP)
    go_live(store, Service.SHIP, Service.PICKUP, Service.STORE_SALE)
    go_live(store2, Service.SHIP, Service.PICKUP, Service.STORE_SALE)
    for s in (store, store2):
        ShelfProtection.objects.create(location=s, product=None, quantity=0)
    return city


@pytest.fixture
def web(live_city: City, dc: Location, store: Location, store2: Location) -> Channel:
    return make_channel("web", ChannelKind.WEB, live_city, [dc, store, store2])


@pytest.fixture
def pos(live_city: City, store: Location, store2: Location) -> Channel:
    return make_channel("pos", ChannelKind.STORE_POS, live_city, [store, store2])


@pytest.fixture
def store3(live_city: City) -> Location:
    """A store whose pickup starts tomorrow: never offered today."""
    location = Location.objects.create(
        code="S03",
        name="Store 3 (opens tomorrow)",
        kind=LocationKind.STORE,
        city=live_city,
        latitude=30.2701,
        longitude=120.1601,
    )
    go_live(location, Service.PICKUP, Service.SHIP, on=date.today() + timedelta(days=2))
    return location


def stock(location: Location, units: dict[str, int]) -> None:
    """Receive units of SKUs (by SKU code) at a location."""
    stock_receive(
        location=location,
        lines=[(Product.objects.get(sku=sku), q) for sku, q in units.items()],
    )
