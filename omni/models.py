"""Project-wide models: cities, staff (with their role and locations), API tokens, and stored
responses for ``Idempotency-Key`` replays."""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

if TYPE_CHECKING:
    from inventory.models import Location


class City(models.Model):
    """A city Omni runs in; rollout goes city by city."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    timezone = models.CharField(max_length=64, default="Asia/Shanghai")
    latitude = models.DecimalField(max_digits=9, decimal_places=6)
    longitude = models.DecimalField(max_digits=9, decimal_places=6)

    class Meta:
        verbose_name_plural = "cities"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(latitude__gte=-90, latitude__lte=90)
                & models.Q(longitude__gte=-180, longitude__lte=180),
                name="city_geo_point_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    WAREHOUSE = "warehouse", "Warehouse staff"
    STORE = "store", "Store staff"
    PLANNER = "planner", "Planner"
    MARKETING = "marketing", "Marketing"
    ADMIN = "admin", "Administrator"
    CHANNEL = "channel", "Channel integration"


class User(AbstractUser):
    """A member of staff. Warehouse and store staff work only at their ``locations``."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STORE)
    locations = models.ManyToManyField(
        "inventory.Location",
        blank=True,
        related_name="staff",
        help_text="Where warehouse and store staff work; they see and touch nothing else.",
    )

    @property
    def is_admin_role(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser

    def location_ids(self) -> set[int]:
        """The ids of the locations this user works at (cached for the request)."""
        cached: set[int] | None = getattr(self, "_location_ids", None)
        if cached is None:
            cached = set(self.locations.values_list("id", flat=True))
            self._location_ids = cached
        return cached

    def works_at(self, location: Location | int) -> bool:
        location_id = location if isinstance(location, int) else location.pk
        return location_id in self.location_ids()


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for integrations and scripts. Only its SHA-256 is stored."""

    PREFIX = "omni_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(
        max_length=16, help_text="The token's first characters, to tell it apart."
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def generate(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)


class IdempotencyRecord(models.Model):
    """The first response to a stock-changing POST, replayed for repeats of its key."""

    principal = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=512)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    content_type = models.CharField(max_length=100)
    body = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["principal", "key"], name="idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.principal}:{self.key}"
