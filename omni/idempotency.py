"""``Idempotency-Key`` on stock-changing POSTs: the first response is stored and replayed for
24 hours; the same key with a different request is a 409.

The key's row is inserted in the same transaction as the work it guards. A concurrent request
with the same key blocks on the unique index until the first commits, then finds the stored
response and replays it, so twenty simultaneous retries make one movement and twenty identical
answers. A request that fails with a 5xx, or is refused before it is authenticated (a session
without its CSRF token), rolls back, key included, and may be retried.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from .auth import request_user
from .errors import ApplicationError, IdempotencyKeyInvalid, IdempotencyKeyReused
from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255


def _error(exc: ApplicationError) -> JsonResponse:
    return JsonResponse(exc.as_dict(), status=exc.http_status)


def _request_hash(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() if request.method else b"")
    digest.update(b"\0" + request.path.encode() + b"\0")
    body = request.body
    # The same JSON in another key order or spacing is the same request.
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    digest.update(body)
    return digest.hexdigest()


def ttl() -> timedelta:
    return timedelta(hours=settings.OMNI_IDEMPOTENCY_TTL_HOURS)


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        bytes(record.body), status=record.status_code, content_type=record.content_type
    )
    response[REPLAY_HEADER] = "true"
    return response


def idempotent(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap a ninja operation's ``run`` (use with ``@decorate_view(idempotent)``)."""

    @wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = request.headers.get(HEADER)
        if key is None:
            return run(request, *args, **kwargs)
        if not key.strip() or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            return _error(IdempotencyKeyInvalid(header=HEADER, max_length=MAX_KEY_LENGTH))
        user = request_user(request)
        if user is None:
            return run(request, *args, **kwargs)  # ninja answers 401
        principal = f"user:{user.pk}"
        request_hash = _request_hash(request)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    IdempotencyRecord.objects.filter(
                        principal=principal, key=key, created_at__lt=timezone.now() - ttl()
                    ).delete()
                    record = IdempotencyRecord.objects.create(
                        principal=principal,
                        key=key,
                        method=request.method or "",
                        path=request.path[:512],
                        request_hash=request_hash,
                        status_code=0,
                        content_type="",
                        body=b"",
                    )
            except IntegrityError:
                existing = IdempotencyRecord.objects.get(principal=principal, key=key)
                if existing.request_hash != request_hash:
                    return _error(
                        IdempotencyKeyReused(header=HEADER, key=key, first_used_for=existing.path)
                    )
                return _replay(existing)
            response = run(request, *args, **kwargs)
            # ninja sets request.auth only once the caller is authenticated (a session POST can
            # still fail CSRF after request_user found its user); such a refusal is not the
            # answer to the request and must not be replayed to a corrected retry.
            refused = getattr(request, "auth", None) is None
            # Nor is a 429: the same request may succeed once the wait is over.
            limited = response.status_code == 429
            if response.status_code >= 500 or refused or limited or transaction.get_rollback():
                transaction.set_rollback(True)
                return response
            record.status_code = response.status_code
            record.content_type = response.get("Content-Type", "application/json")
            record.body = response.content
            record.save(update_fields=["status_code", "content_type", "body"])
        response[REPLAY_HEADER] = "false"
        return response

    return wrapper


def idempotency_purge(*, now: Any = None) -> int:
    """Forget stored responses older than the replay window."""
    cutoff = (now or timezone.now()) - ttl()
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
