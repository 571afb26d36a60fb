from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        from omni.metrics import scrape_collector

        from .metrics import waiting_queue

        scrape_collector(waiting_queue)
        from inventory.signals import stock_available

        from .receivers import route_waiting_on_stock

        stock_available.connect(route_waiting_on_stock, dispatch_uid="orders.route_waiting")
