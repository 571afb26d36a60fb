"""Orders from every channel: filled in by the orders issue."""
