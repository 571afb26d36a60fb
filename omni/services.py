"""Writes owned by the project package: staff API tokens and cities, and the one create-or-update
by key the master-data services share."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models, transaction
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


M = TypeVar("M", bound=models.Model)


def save_by_key(model: type[M], key: dict[str, Any], fields: dict[str, Any]) -> M:
    """The row of ``model`` with ``key``: created with ``fields``, or those fields updated. The
    services that let the rollout file write master data by its code share it."""
    row, created = model._default_manager.get_or_create(**key, defaults=fields)
    if not created and fields:
        model._default_manager.filter(pk=row.pk).update(**fields)
        row.refresh_from_db()
    return row


@transaction.atomic
def city_save(*, code: str, **fields: Any) -> City:
    """Create the city ``code`` or update the ``fields`` given (name, timezone, latitude,
    longitude)."""
    return save_by_key(City, {"code": code}, fields)
