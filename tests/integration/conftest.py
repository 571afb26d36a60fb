"""The integration suite: real PostgreSQL, real threads with their own connections, a real
Celery worker. Everything here is marked ``integration`` (run it with ``make test-integration``)
and skips when the database is not PostgreSQL, because SQLite serialises writers and would
prove nothing about row locks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from inventory.invariants import assert_invariants

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    not_postgres = pytest.mark.skip(
        reason=f"integration tests need PostgreSQL (DATABASE_URL points at {connection.vendor}); "
        "run `make test-integration`"
    )
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.integration)
            if connection.vendor != "postgresql":
                item.add_marker(not_postgres)


@pytest.fixture(autouse=True)
def _invariants_after_each_test(transactional_db: Any) -> Iterator[None]:
    """Every test here ends with the ledger invariants, before the tables are flushed."""
    yield
    assert_invariants()
