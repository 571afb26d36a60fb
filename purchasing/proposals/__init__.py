"""Replenishment proposals: the daily run that proposes what a city buys, the planner's review,
and approval into purchase orders (docs/replenishment.md)."""
