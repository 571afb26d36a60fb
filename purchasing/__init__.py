"""Purchasing, the 进 of 进销存: suppliers, supplier items, reorder policies, replenishment
proposals, purchase orders and supplier performance. ``policy/`` is the pure core."""
