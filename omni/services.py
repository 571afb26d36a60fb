"""Writes owned by the project package: staff API tokens."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .errors import NotFound
from .models import ApiToken, City, User, hash_token


@transaction.atomic
def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user``. Returns the row and the raw secret, which is never stored."""
    raw = ApiToken.generate()
    token = ApiToken.objects.create(
        user=user, name=name[:100], prefix=raw[: len(ApiToken.PREFIX) + 6], key_hash=hash_token(raw)
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, prefix: str | None = None, token_id: int | None = None) -> ApiToken:
    tokens = ApiToken.objects.filter(revoked_at__isnull=True)
    token = tokens.filter(pk=token_id).first() if token_id else tokens.filter(prefix=prefix).first()
    if token is None:
        raise NotFound("no active token matches", detail={"prefix": prefix, "id": token_id})
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    return token


@transaction.atomic
def city_save(*, code: str, **fields: object) -> City:
    """Create the city ``code`` or update the ``fields`` given (name, timezone, latitude,
    longitude)."""
    city, created = City.objects.get_or_create(code=code, defaults=fields)
    if not created and fields:
        City.objects.filter(pk=city.pk).update(**fields)
        city.refresh_from_db()
    return city
