"""Who is calling: hashed bearer tokens for integrations, Django sessions for staff pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import APIKeyCookie, HttpBearer

from .models import ApiToken, User, hash_token

# last_used_at is written at most this often per token, so reads stay read-only.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def user_for_token(raw: str) -> User | None:
    if not raw or not raw.startswith(ApiToken.PREFIX) or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_token(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """Django's session, with CSRF checked on unsafe methods (ninja's cookie auth does that)."""

    param_name = "sessionid"

    def _get_key(self, request: HttpRequest) -> str | None:
        # Without a session cookie there is nothing for CSRF to protect: a token client with a
        # bad or revoked token must get 401, not ninja's "CSRF check Failed" 403.
        if self.param_name not in request.COOKIES:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return user
        return None


def request_user(request: HttpRequest) -> User | None:
    """The caller, by token or session, without raising: for code that runs before ninja's
    own auth check (the idempotency wrapper)."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return user_for_token(header[7:].strip())
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    return None


api_auth = [TokenAuth(), SessionAuth()]
