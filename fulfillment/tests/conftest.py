"""Fixtures of fulfillment tests: the live city of the orders tests, re-exported."""

from orders.tests.conftest import live_city, pos, store3, web

__all__ = ["live_city", "pos", "store3", "web"]
