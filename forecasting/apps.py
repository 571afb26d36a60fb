from django.apps import AppConfig


class ForecastingConfig(AppConfig):
    name = "forecasting"

    def ready(self) -> None:
        from omni.metrics import scrape_collector

        from .metrics import forecast_runs

        scrape_collector(forecast_runs)
