"""The stock services against an in-memory model on PostgreSQL, where the conditional updates,
row locks and CHECK constraints are the production ones. See ``tests/stock_state_machine.py``."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from tests.stock_state_machine import StockMachine

pytestmark = pytest.mark.integration


def test_stock_services_match_the_model_on_postgresql(db: Any) -> None:
    # 50 runs of up to 50 steps (2,500 steps, every rule many times over): twice as many were
    # the suite's second-longest test, over eight minutes, for rules the first half already
    # drives; the SQLite twin under ``make test`` runs 50 more of its own.
    run_state_machine_as_test(
        StockMachine,
        settings=settings(max_examples=50, stateful_step_count=50, deadline=None, database=None),
    )
