"""Liveness and readiness, for a load balancer or an orchestrator; no login, nothing secret.

``/health/live``: the process answers (no dependency is touched, so a database outage never
gets every web process restarted). ``/health/ready``: the database answers, and where a broker
is configured (``REDIS_URL``), Redis answers and at least one Celery worker answers a ping and
consumes the task queue. The body names each check and says ``ok`` or ``unavailable``; why is
logged (``health_check`` logger), not shown: errors carry host names and ports.
200 when every check is ok, 503 otherwise.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET
from health_check.base import HealthCheck, HealthCheckResult
from health_check.checks import Database

logger = logging.getLogger("omni.health")


@require_GET
def live(request: HttpRequest) -> HttpResponse:
    response = JsonResponse({"status": "ok"})
    add_never_cache_headers(response)
    return response


def readiness_checks() -> dict[str, HealthCheck]:
    """What readiness means here, by name; without ``REDIS_URL`` (Celery eager, the embedded
    demo) only the database."""
    checks: dict[str, HealthCheck] = {"database": Database()}
    if settings.REDIS_URL:
        from health_check.contrib.celery import Ping
        from health_check.contrib.redis import Redis
        from redis.asyncio import Redis as RedisClient

        from omni.celery import app

        url = settings.REDIS_URL
        checks["redis"] = Redis(
            client_factory=lambda: RedisClient.from_url(
                url, socket_connect_timeout=2, socket_timeout=2
            )
        )
        checks["celery"] = Ping(
            app=app,
            timeout=datetime.timedelta(seconds=settings.OMNI_HEALTH_CELERY_TIMEOUT),
            limit=1,  # one live worker is enough: answer as soon as it pongs
        )
    return checks


async def _results(checks: dict[str, HealthCheck]) -> list[HealthCheckResult]:
    # Our own threads, not the loop's default executor, which asyncio.run would wait for: a
    # probe stuck past its timeout (a broker that does not answer) must not hold the answer.
    executor = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="health")
    try:
        return list(
            await asyncio.gather(*(check.get_result(executor) for check in checks.values()))
        )
    finally:
        executor.shutdown(wait=False)


@require_GET
def ready(request: HttpRequest) -> HttpResponse:
    checks = readiness_checks()
    results = asyncio.run(_results(checks))
    states: dict[str, Any] = {}
    for name, result in zip(checks, results, strict=True):
        states[name] = "ok" if result.error is None else "unavailable"
        if result.error is not None:
            logger.warning("readiness check %s failed: %s", name, result.error)
    healthy = all(state == "ok" for state in states.values())
    response = JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": states},
        status=200 if healthy else 503,
    )
    add_never_cache_headers(response)
    return response
