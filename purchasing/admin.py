"""Purchasing in the admin."""

from __future__ import annotations

from .proposals import admin as proposals_admin  # noqa: F401  (registers the proposal tables)
