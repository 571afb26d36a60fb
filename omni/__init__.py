"""Omni: the project package (settings, API, auth and roles, errors, idempotency, cities)."""

from .celery import app as celery_app

__all__ = ["celery_app"]
