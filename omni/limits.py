"""Limits on guessing: how many refused attempts a caller may make in a time window.

Counted with django-ratelimit in the ``default`` cache, which is Redis whenever ``REDIS_URL`` is
set, so a limit holds across every web process and machine. A caller over the limit gets
``RateLimited``: 429 with ``code: rate_limited`` and a ``Retry-After`` header on the API, a
clear message on the pages. Only refusals count: a clerk handing over fifty good pickups an
hour never meets the limit, someone trying codes does.
"""

from __future__ import annotations

import contextlib
import time
from typing import ClassVar

from django.conf import settings
from django.core.cache import cache
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


# --------------------------------------------------------------------------- counted slots
#
# ``attempts_check`` then ``attempt_refused`` lets a burst of simultaneous attempts through
# before the first refusal is counted. Where a limit must hold against such bursts (six-digit
# codes, which a script could try fifty at once), an attempt takes a slot *before* it is tried,
# in one atomic cache increment, and gives it back if it turns out good.

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"10/h"`` → (10, 3600); ``"5/15m"`` → (5, 900)."""
    count, _sep, period = rate.partition("/")
    multiple = int(period[:-1] or 1)
    return int(count), multiple * _PERIODS[period[-1]]


def slot_take(*, group: str, key: str, rate: str) -> str | None:
    """Count one attempt of ``group`` by ``key`` (a store, a user) in the current window of
    ``rate``; raise ``RateLimited`` (the seconds until the window ends) when that makes more
    than the rate allows. Returns what ``slot_return`` needs, or None when limits are off."""
    if not getattr(settings, "RATELIMIT_ENABLE", True):
        return None
    limit, period = parse_rate(rate)
    now = int(time.time())
    window = now - now % period
    slot = f"omni-slots:{group}:{key}:{window}"
    cache.add(slot, 0, timeout=period + 60)
    try:
        used = cache.incr(slot)
    except ValueError:  # evicted between add and incr
        cache.set(slot, 1, timeout=period + 60)
        used = 1
    if used > limit:
        raise RateLimited(limit=rate, retry_after=window + period - now)
    return slot


def slot_return(slot: str | None) -> None:
    """Give back a slot whose attempt was good: only refusals use up the limit."""
    if slot is None:
        return
    with contextlib.suppress(ValueError):
        cache.decr(slot)
