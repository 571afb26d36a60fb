"""What every test suite shares: the app fixtures, as plugins (Saleor's way: each app's
``tests/fixtures.py``; the data they make comes from ``tests/factories.py``, the helpers tests
import from ``tests/helpers.py``), and one fast password hasher. Nothing here is imported."""

from __future__ import annotations

from django.conf import settings

# Each app's fixtures, as plugins: any test may use them, none imports them.
pytest_plugins = [
    "omni.tests.fixtures",
    "inventory.tests.fixtures",
    "network.tests.fixtures",
    "orders.tests.fixtures",
    "fulfillment.tests.fixtures",
    "forecasting.tests.fixtures",
    "allocation.tests.fixtures",
]

# Staff users are made in hundreds of fixtures; the production hasher's million PBKDF2 rounds cost
# most of the suite's CPU time and test nothing of ours.
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
