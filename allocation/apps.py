from django.apps import AppConfig


class AllocationConfig(AppConfig):
    name = "allocation"
    verbose_name = "Allocation"

    def ready(self) -> None:
        from omni.metrics import scrape_collector

        from .metrics import allocation_runs

        scrape_collector(allocation_runs)
