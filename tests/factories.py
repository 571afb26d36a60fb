"""The one way a test makes its data (factory_boy, the HackSoft way): a city, a product, a
location (DC, store or virtual), a user of each role with the locations they work at, a channel
with its integration user, the services a location is live for, received stock, an order and a
routing profile.

Call ``XFactory.create(...)``: it is typed (it returns the model), ``XFactory(...)`` is not.
Whatever moves stock or places orders goes through the services, as the code under test does:
``ReceiptFactory`` calls ``stock_receive`` (no StockLevel row is ever written here),
``OrderFactory`` calls ``order_place`` (and ``order_pay``), ``RoutingProfileFactory`` calls
``routing_profile_create`` and ``routing_profile_activate``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import factory
from factory.django import DjangoModelFactory

from inventory.models import Bin, HomeBin, Location, LocationKind, Product, Receipt
from inventory.services import bin_save, home_bin_set, stock_receive
from network.models import (
    Channel,
    ChannelCity,
    ChannelKind,
    ChannelLocation,
    LocationService,
    RoutingProfile,
    Service,
)
from network.services import routing_profile_activate, routing_profile_create
from omni.models import City, Role, User
from orders.models import Order, OrderMode
from orders.services import DeliveryPoint, LineIn, order_pay, order_place
from purchasing.models import Supplier, SupplierItem

# Long before any test runs: whatever starts then is live today.
LONG_AGO = date(2020, 1, 1)
# Addresses in the fixtures' city (``city``, ``dc``, ``store``, ``store2``).
NEAR_S01 = DeliveryPoint(latitude=30.2705, longitude=120.1610, address="near store 1")
NEAR_DC = DeliveryPoint(latitude=30.1850, longitude=120.2600, address="near the DC")


class CityFactory(DjangoModelFactory[City]):
    class Meta:
        model = City

    code = factory.Sequence(lambda n: f"city-{n}")
    name = factory.LazyAttribute(lambda city: city.code.replace("-", " ").title())
    latitude = Decimal("30.27")
    longitude = Decimal("120.15")


class ProductFactory(DjangoModelFactory[Product]):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"P-{n:04d}")
    name = factory.LazyAttribute(lambda product: f"Product {product.sku}")
    barcode = None


class LocationFactory(DjangoModelFactory[Location]):
    """A physical location (a store unless ``kind`` says otherwise) in a city."""

    class Meta:
        model = Location

    code = factory.Sequence(lambda n: f"LOC-{n:03d}")
    name = factory.LazyAttribute(lambda location: f"Location {location.code}")
    kind = LocationKind.STORE
    city = factory.SubFactory(CityFactory)


class DcFactory(LocationFactory):
    """A distribution centre (a ``warehouse`` location)."""

    code = factory.Sequence(lambda n: f"DC-{n:03d}")
    name = factory.LazyAttribute(lambda location: f"DC {location.code}")
    kind = LocationKind.WAREHOUSE


class StoreFactory(LocationFactory):
    code = factory.Sequence(lambda n: f"STORE-{n:03d}")
    name = factory.LazyAttribute(lambda location: f"Store {location.code}")
    kind = LocationKind.STORE


class VirtualLocationFactory(DjangoModelFactory[Location]):
    """A virtual location (``customer`` unless ``kind`` says otherwise): no city, no place. The
    ledger's own virtual locations exist once each already (``inventory.services.virtual_location``
    finds them); this makes another one, for tests about locations that hold no stock."""

    class Meta:
        model = Location

    code = factory.Sequence(lambda n: f"VIRTUAL-{n:03d}")
    name = factory.LazyAttribute(lambda location: f"Virtual {location.code}")
    kind = LocationKind.CUSTOMER


class UserFactory(DjangoModelFactory[User]):
    """A user with the password ``pw-<username>`` (hashed: the suite's hasher is fast), working
    at ``locations``."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.LazyAttribute(lambda user: f"pw-{user.username}")
    role = Role.STORE

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        return model_class._default_manager.create_user(*args, **kwargs)

    @factory.post_generation
    def locations(user: User, create: bool, extracted: list[Location] | None, **_: Any) -> None:
        if create and extracted:
            user.locations.set(extracted)


class AdminFactory(UserFactory):
    role = Role.ADMIN


class PlannerFactory(UserFactory):
    role = Role.PLANNER


class WarehouseUserFactory(UserFactory):
    role = Role.WAREHOUSE


class StoreUserFactory(UserFactory):
    role = Role.STORE


class ChannelUserFactory(UserFactory):
    """The user a channel's integration authenticates as."""

    role = Role.CHANNEL


class ChannelFactory(DjangoModelFactory[Channel]):
    """A channel with its integration user ``channel-<code>``; live in ``city`` since LONG_AGO
    when one is given, served by ``serves`` in that order of priority."""

    class Meta:
        model = Channel
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"channel-{n}")
    name = factory.LazyAttribute(lambda channel: channel.code.title())
    kind = ChannelKind.WEB
    user = factory.SubFactory(
        ChannelUserFactory,
        username=factory.LazyAttribute(lambda user: f"channel-{user.factory_parent.code}"),
    )

    @factory.post_generation
    def city(channel: Channel, create: bool, extracted: City | None, **_: Any) -> None:
        if create and extracted is not None:
            ChannelCity.objects.create(channel=channel, city=extracted, starts_on=LONG_AGO)

    @factory.post_generation
    def serves(channel: Channel, create: bool, extracted: list[Location] | None, **_: Any) -> None:
        if not create:
            return
        for priority, location in enumerate(extracted or [], start=1):
            ChannelLocation.objects.create(channel=channel, location=location, priority=priority)


class LocationServiceFactory(DjangoModelFactory[LocationService]):
    """A service (ship, pickup, counter sale) a location offers from ``starts_on``."""

    class Meta:
        model = LocationService

    location = factory.SubFactory(StoreFactory)
    service = Service.PICKUP
    starts_on = LONG_AGO

    @classmethod
    def go_live(
        cls, location: Location, *services: Service, on: date = LONG_AGO
    ) -> list[LocationService]:
        """``location`` offers each of ``services`` from ``on``."""
        return [
            cls.create(location=location, service=service, starts_on=on) for service in services
        ]


class ReceiptFactory(DjangoModelFactory[Receipt]):
    """Stock received at ``location`` through ``stock_receive``: ``lines`` maps products (or
    their SKU codes) to units, received in that order."""

    class Meta:
        model = Receipt

    location = factory.SubFactory(StoreFactory)

    @classmethod
    def _create(
        cls,
        model_class: type[Receipt],
        *,
        location: Location,
        lines: Mapping[Product | str, int],
        **fields: Any,
    ) -> Receipt:
        return stock_receive(
            location=location,
            lines=[(_product(product), units) for product, units in lines.items()],
            **fields,
        )


class HomeBinFactory(DjangoModelFactory[HomeBin]):
    """A SKU's home bin ``code`` at ``location`` through ``bin_save`` and ``home_bin_set``:
    the bin is made when missing, walked at ``sequence`` (default: after the location's
    last bin)."""

    class Meta:
        model = HomeBin

    @classmethod
    def _create(
        cls,
        model_class: type[HomeBin],
        *,
        location: Location,
        product: Product | str,
        code: str,
        sequence: int | None = None,
        **fields: Any,
    ) -> HomeBin:
        bin = Bin.objects.filter(location=location, code=code).first()
        if bin is None or sequence is not None:
            if sequence is None:
                last = Bin.objects.filter(location=location).order_by("-sequence").first()
                sequence = (last.sequence if last else 0) + 1
            bin = bin_save(location=location, code=code, sequence=sequence, **fields)
        return home_bin_set(location=location, product=_product(product), bin=bin)


class OrderFactory(DjangoModelFactory[Order]):
    """A new order placed through ``order_place`` (sourced and held like any other), paid when
    ``paid``. ``lines`` maps products to quantities, each sold at the product's price unless
    ``unit_price`` is given; a delivery goes to NEAR_S01 unless ``delivery`` says otherwise.
    Any other keyword goes to ``order_place`` (``store``, ``customer_name``, ``promised_at``…)."""

    class Meta:
        model = Order

    class Params:
        delivering = factory.LazyAttribute(lambda order: order.mode == OrderMode.DELIVERY)

    channel = factory.SubFactory(ChannelFactory)
    external_id = factory.Sequence(lambda n: f"order-{n}")
    mode = OrderMode.DELIVERY
    delivery = factory.Maybe("delivering", yes_declaration=NEAR_S01, no_declaration=None)
    paid = False
    unit_price = None

    @classmethod
    def _create(
        cls,
        model_class: type[Order],
        *,
        channel: Channel,
        external_id: str,
        lines: Mapping[Product, int],
        paid: bool,
        unit_price: Decimal | None,
        **fields: Any,
    ) -> Order:
        order, created = order_place(
            channel=channel,
            external_id=external_id,
            lines=[
                LineIn(
                    product=product,
                    quantity=quantity,
                    unit_price=product.price if unit_price is None else unit_price,
                )
                for product, quantity in lines.items()
            ],
            **fields,
        )
        if not created:
            raise AssertionError(f"{channel.code} has an order {external_id!r} already")
        return order_pay(order=order) if paid else order


class PickupOrderFactory(OrderFactory):
    """A pickup at ``store`` (required) by a customer who left a phone number."""

    mode = OrderMode.PICKUP
    customer_phone = "13800000000"


class RoutingProfileFactory(DjangoModelFactory[RoutingProfile]):
    """A version of a channel's routing rules, for every city unless ``city`` is given: made a
    draft by ``routing_profile_create``, then activated unless ``active`` is False."""

    class Meta:
        model = RoutingProfile

    channel = factory.SubFactory(ChannelFactory)
    city = None
    rules = factory.LazyFunction(lambda: ["keep_together"])
    when_short = "park"
    active = True

    @classmethod
    def _create(
        cls, model_class: type[RoutingProfile], *, active: bool, **fields: Any
    ) -> RoutingProfile:
        draft = routing_profile_create(**fields)
        return routing_profile_activate(profile=draft) if active else draft


def _product(product: Product | str) -> Product:
    return product if isinstance(product, Product) else Product.objects.get(sku=product)


class SupplierFactory(DjangoModelFactory[Supplier]):
    """A supplier that delivers to the DC (and to stores when ``delivers_to_stores``)."""

    class Meta:
        model = Supplier

    code = factory.Sequence(lambda n: f"SUP-{n:03d}")
    name = factory.LazyAttribute(lambda supplier: f"Supplier {supplier.code}")


class SupplierItemFactory(DjangoModelFactory[SupplierItem]):
    """What a supplier sells of a product: cost 5, MOQ 1, multiple 1, promised in 7 days."""

    class Meta:
        model = SupplierItem

    supplier = factory.SubFactory(SupplierFactory)
    product = factory.SubFactory(ProductFactory)
    cost = Decimal("5.0000")
    lead_time_days = 7
