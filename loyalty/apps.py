from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = "Loyalty"

    def ready(self) -> None:
        from orders import adjusters

        from .services import LoyaltyAdjuster

        adjusters.register(LoyaltyAdjuster())
