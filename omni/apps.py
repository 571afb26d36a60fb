from django.apps import AppConfig


class OmniConfig(AppConfig):
    name = "omni"
    verbose_name = "Omni"

    def ready(self) -> None:
        # Connects the Celery signals: request ids into tasks, task metrics, worker logging.
        from . import observability  # noqa: F401
