"""Reads of the project's own rows: the city by its code, and the date where a city is."""

from __future__ import annotations

import zoneinfo
from datetime import date

from django.utils import timezone

from .errors import UnknownCity
from .models import City


def city_by_code(code: str) -> City:
    """The city with ``code``, or ``UnknownCity`` (a 404 in the API)."""
    city = City.objects.filter(code=code).first()
    if city is None:
        raise UnknownCity(code)
    return city


def city_today(city: City) -> date:
    """Today's date where the city is: a phase starts at local midnight, not UTC's."""
    return timezone.now().astimezone(zoneinfo.ZoneInfo(city.timezone)).date()
