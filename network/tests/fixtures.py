"""Fixtures of how the test city is served (a pytest plugin, listed in the root conftest): the
DC and both stores live, as a rollout file would set them, a web channel (delivery and pickup)
and a counter channel, and a store whose pickup has not started yet."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from inventory.models import Location
from network.models import Channel, ChannelKind, Service, ShelfProtection
from network.rollout import Change, rollout_apply, rollout_load
from network.tests.rollout_helpers import PILOT
from omni.models import City
from tests.factories import ChannelFactory, LocationServiceFactory, StoreFactory


@pytest.fixture
def live_city(city: City, dc: Location, store: Location, store2: Location) -> City:
    LocationServiceFactory.go_live(dc, Service.SHIP)
    LocationServiceFactory.go_live(store, Service.SHIP, Service.PICKUP, Service.STORE_SALE)
    LocationServiceFactory.go_live(store2, Service.SHIP, Service.PICKUP, Service.STORE_SALE)
    for s in (store, store2):
        ShelfProtection.objects.create(location=s, product=None, quantity=0)
    return city


@pytest.fixture
def web(live_city: City, dc: Location, store: Location, store2: Location) -> Channel:
    return ChannelFactory.create(
        code="web", kind=ChannelKind.WEB, city=live_city, serves=[dc, store, store2]
    )


@pytest.fixture
def pos(live_city: City, store: Location, store2: Location) -> Channel:
    return ChannelFactory.create(
        code="pos", kind=ChannelKind.STORE_POS, city=live_city, serves=[store, store2]
    )


@pytest.fixture
def store3(live_city: City) -> Location:
    """A store whose pickup starts tomorrow: never offered today."""
    location = StoreFactory.create(
        code="S03",
        name="Store 3 (opens tomorrow)",
        city=live_city,
        latitude=30.2701,
        longitude=120.1601,
    )
    LocationServiceFactory.go_live(
        location, Service.PICKUP, Service.SHIP, on=date.today() + timedelta(days=2)
    )
    return location


@pytest.fixture
def pilot(db: Any) -> list[Change]:
    """The pilot city's rollout file, applied."""
    return rollout_apply(rollout_load(PILOT))
