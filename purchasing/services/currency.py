"""Exchange rates: what a unit of a supplier's currency is worth in the company currency
(``OMNI_CURRENCY``). A purchase order fixes the rate in force on the day it is sent; its
receipts are valued at that rate, and budgets count every supplier's cost in the company
currency at the rate in force on the day of the proposal."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from omni.models import User

from ..errors import ExchangeRateInvalid, ExchangeRateMissing
from ..models import ExchangeRate, company_currency
from .suppliers import MAX_MONEY, currency_code

ONE = Decimal(1)
RATE_PLACES = Decimal("0.00000001")


@transaction.atomic
def exchange_rate_set(
    *,
    currency: str,
    rate: Decimal | int | str,
    valid_from: datetime.date,
    note: str = "",
    actor: User | None = None,
) -> ExchangeRate:
    """The rate of ``currency`` from ``valid_from`` on (replacing that day's rate if there was
    one). ``ExchangeRateInvalid`` names the field: a code that is not three letters, the
    company currency itself, a rate that is not above 0; nothing is written."""
    currency = currency_code(currency, error=ExchangeRateInvalid)
    if currency == company_currency():
        raise ExchangeRateInvalid(
            "currency",
            currency,
            _("%(value)s is the company currency: its rate is always 1"),
        )
    try:
        amount = Decimal(str(rate))
    except ArithmeticError:
        amount = Decimal("NaN")
    # Above 0 once rounded to the column's 8 places (a rate of 1e-9 would be stored as 0).
    if not (amount.is_finite() and 0 < amount <= MAX_MONEY and amount.quantize(RATE_PLACES) > 0):
        raise ExchangeRateInvalid(
            "rate", str(rate), _("rate must be an amount above 0, not %(value)s")
        )
    amount = amount.quantize(RATE_PLACES)
    row, _created = ExchangeRate.objects.update_or_create(
        currency=currency,
        valid_from=valid_from,
        defaults={"rate": amount, "note": (note or "")[:255], "created_by": actor},
    )
    return row


def exchange_rates_known(currencies: Iterable[str], day: datetime.date) -> dict[str, Decimal]:
    """The rate in force on ``day`` of each currency that has one on or before that day (1 for
    the company currency); currencies without one are left out."""
    home = company_currency()
    wanted = sorted({c for c in currencies if c != home})
    found = {home: ONE}
    for currency, rate in (
        ExchangeRate.objects.filter(currency__in=wanted, valid_from__lte=day)
        .order_by("currency", "-valid_from")
        .values_list("currency", "rate")
    ):
        found.setdefault(currency, rate)
    return found


def exchange_rates_on(currencies: Iterable[str], day: datetime.date) -> dict[str, Decimal]:
    """The rate in force on ``day`` of each currency (1 for the company currency):
    ``ExchangeRateMissing`` for the first one without a rate on or before that day."""
    wanted = sorted(set(currencies))
    found = exchange_rates_known(wanted, day)
    for currency in wanted:
        if currency not in found:
            raise ExchangeRateMissing(currency, day)
    return found


def exchange_rate_on(currency: str, day: datetime.date) -> Decimal:
    """The rate in force on ``day`` (see ``exchange_rates_on``)."""
    return exchange_rates_on([currency], day)[currency]
