"""Row locks of how a city is served: every ``select_for_update`` of network is one of these.

The one lock order of the whole system (docs/locking.md):

    City → Order → PickList → Transfer / PurchaseOrder → Campaign / Coupon
         → StockLevel (by location id, product id) → Reservation

The configuration rows here stand outside that chain: a transaction holding one of them takes
no lock of the chain (placing an order reads the settings without locking them). Among
themselves: Channel → RoutingProfile; a location service or a channel buffer is taken alone.
"""

from __future__ import annotations

from inventory.models import Location

from .models import Channel, ChannelBuffer, LocationService, RoutingProfile


def lock_channel(channel_id: int) -> None:
    """The channel row, which serialises its routing profiles' version numbers and activations.
    ``FOR NO KEY UPDATE``: orders reference the channel, and an order's foreign-key check at
    commit must not wait on this lock (see the City mutex in docs/locking.md)."""
    Channel.objects.select_for_update(no_key=True).filter(pk=channel_id).first()


def lock_routing_profile(profile_id: int) -> RoutingProfile:
    """A routing profile; take its channel first (``lock_channel``) when versions may change.
    ``FOR NO KEY UPDATE``, as orders reference it too."""
    return RoutingProfile.objects.select_for_update(no_key=True).get(pk=profile_id)


def lock_channel_buffer(channel: Channel, location: Location | None) -> ChannelBuffer | None:
    """The channel's buffer at ``location`` (None: its default), or None when it has none."""
    return (
        ChannelBuffer.objects.select_for_update().filter(channel=channel, location=location).first()
    )


def lock_location_service(location: Location, service: str) -> LocationService | None:
    """The row saying ``location`` offers ``service`` (its capacity and hours), or None."""
    return (
        LocationService.objects.select_for_update()
        .filter(location=location, service=service)
        .first()
    )
