from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"

    def ready(self) -> None:
        from omni.metrics import scrape_collector

        from .metrics import holds_active

        scrape_collector(holds_active)
