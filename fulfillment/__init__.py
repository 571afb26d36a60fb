"""Fulfillment: pick, pack, ship, store pickup, returns. Filled in by the fulfillment issue."""
