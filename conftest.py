"""What every test suite shares: the app fixtures, as plugins (Saleor's way: each app's
``tests/fixtures.py``; the data they make comes from ``tests/factories.py``, the helpers tests
import from ``tests/helpers.py``), one fast password hasher, and the default language at the
start of every test. Nothing here is imported."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.utils import translation

# Each app's fixtures, as plugins: any test may use them, none imports them.
pytest_plugins = [
    "omni.tests.fixtures",
    "inventory.tests.fixtures",
    "network.tests.fixtures",
    "orders.tests.fixtures",
    "fulfillment.tests.fixtures",
    "forecasting.tests.fixtures",
    "allocation.tests.fixtures",
    "purchasing.tests.fixtures",
    "loyalty.tests.fixtures",
    "purchasing.tests.proposal_fixtures",
    "tests.bad_input",
]

# Staff users are made in hundreds of fixtures; the production hasher's million PBKDF2 rounds cost
# most of the suite's CPU time and test nothing of ours.
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The limits on login and pickup-code attempts stay off: the suite signs in and refuses codes far
# more often than any person, and the LocMem cache would carry counts from test to test. The
# tests of the limits switch them on (tests/test_limits.py).
settings.AXES_ENABLED = False
settings.RATELIMIT_ENABLE = False


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the default language: a request in Chinese leaves Chinese active in
    its thread (the locale middleware activates, nothing deactivates), and a service called
    directly afterwards would answer in it."""
    translation.deactivate()
    yield
    translation.deactivate()
