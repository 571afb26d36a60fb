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


# The longest test files, longest first, as measured on a 2-core machine (``--durations``):
# the test processes take whole files (``--dist loadfile``) in collection order, so starting
# the long ones first keeps one process from running the longest file alone at the end (the
# suite's tail). pytest-xdist would otherwise order files by their number of tests, which puts
# these, each one or a few long tests, last; the Makefile turns that off
# (``--no-loadscope-reorder``).
LONGEST_FIRST = (
    "tests/integration/test_api_live_fuzz.py",
    "tests/integration/test_restore_drill.py",
    "tests/integration/test_browser_layout.py",
    "tests/integration/test_forecast_fanout.py",
    "tests/integration/test_stock_state_machine_pg.py",
    "tests/integration/test_forecast_worker.py",
    "tests/integration/test_browser_proposals.py",
    "tests/integration/test_operations.py",
    "tests/integration/test_orders_concurrency.py",
    "tests/integration/test_routing_concurrency.py",
    "tests/test_admin_and_commands.py",
    "tests/test_api_list_scale.py",
    "tests/test_stock_state_machine.py",
    "tests/test_api_access.py",
    "tests/test_api_bad_input.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: n for n, name in enumerate(LONGEST_FIRST)}
    root = config.rootpath
    # A stable sort: the tests of a file keep their order, the other files theirs.
    items.sort(key=lambda item: rank.get(item.path.relative_to(root).as_posix(), len(rank)))
