"""Limits on guessing: how many refused attempts a caller may make in a time window.

Counted with django-ratelimit in the ``default`` cache, which is Redis whenever ``REDIS_URL`` is
set, so a limit holds across every web process and machine. A caller over the limit gets
``RateLimited``: 429 with ``code: rate_limited`` and a ``Retry-After`` header on the API, a
clear message on the pages. Only refusals count: a clerk handing over fifty good pickups an
hour never meets the limit, someone trying codes does.
"""

from __future__ import annotations

from typing import ClassVar

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_ratelimit.core import get_usage

from .errors import ApplicationError, CommonErrorCode


class RateLimited(ApplicationError):
    """Too many refused attempts; ``detail`` says the ``limit`` and ``retry_after`` seconds."""

    code: ClassVar[str] = CommonErrorCode.RATE_LIMITED
    http_status = 429

    def __init__(self, *, limit: str, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(
            _("too many refused attempts; try again in %(seconds)s seconds"),
            detail={"limit": limit, "retry_after": self.retry_after},
            params={"seconds": self.retry_after},
        )


def caller_key(group: str, request: HttpRequest) -> str:
    """Who is counted: the signed-in user (token or session), else the client address."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{request.META.get('REMOTE_ADDR', '')}"


def attempts_check(request: HttpRequest, *, group: str, rate: str) -> None:
    """Raise ``RateLimited`` when the caller already used up ``rate`` (``"10/m"``) refusals
    of ``group``; counts nothing itself."""
    usage = get_usage(request, group=group, key=caller_key, rate=rate, increment=False)
    if usage is not None and usage["count"] >= usage["limit"]:
        raise RateLimited(limit=rate, retry_after=int(usage["time_left"]))


def attempt_refused(request: HttpRequest, *, group: str, rate: str) -> None:
    """Count one refused attempt of ``group`` against the caller."""
    get_usage(request, group=group, key=caller_key, rate=rate, increment=True)
