from django.apps import AppConfig


class PurchasingConfig(AppConfig):
    name = "purchasing"
    verbose_name = "Purchasing"

    def ready(self) -> None:
        from inventory.inbound import register_inbound_source

        from .selectors import on_order

        # Open purchase orders are stock expected in: allocation's store positions count them
        # through inventory, which imports no purchasing (docs/purchasing.md, "On order").
        register_inbound_source("purchase_orders", on_order)
