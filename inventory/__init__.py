"""Inventory: products, locations, stock levels, the stock ledger, reservations, receipts,
counts and transfers. Knows nothing of orders: a reservation's owner is a reference."""
