"""The stock services against an in-memory model, on the default database (SQLite under
``make test``). See ``tests/stock_state_machine.py``."""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from tests.stock_state_machine import StockMachine


def test_stock_services_match_the_model(db: Any) -> None:
    run_state_machine_as_test(
        StockMachine,
        settings=settings(max_examples=50, stateful_step_count=40, deadline=None, database=None),
    )
