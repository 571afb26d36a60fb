"""The Celery app. Without REDIS_URL tasks run eagerly in the calling process."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings.base")

app = Celery("omni")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Connected here, not in an app's ready(): a worker sends both before Django is set up.
@signals.setup_logging.connect(dispatch_uid="omni.celery_logging")
def _keep_django_logging(**_: Any) -> None:
    """Workers log through the project's ``LOGGING`` (JSON lines with request ids in
    production) instead of Celery's own set-up."""


@signals.worker_init.connect(dispatch_uid="omni.worker_exporter")
def _worker_exporter(**_: Any) -> None:
    """``OMNI_METRICS_WORKER_PORT`` set: this worker machine serves its tasks' metrics there
    (docs/operations.md, "Metrics")."""
    port = int(os.environ.get("OMNI_METRICS_WORKER_PORT") or 0)
    if port:
        from .metrics import worker_exporter_start

        worker_exporter_start(port, os.environ.get("OMNI_METRICS_WORKER_ADDRESS", "0.0.0.0"))
