"""Forecasting: demand history (from the ledger and imported files), forecast runs with
rolling-origin backtests, forecast storage and accuracy. The pure core is ``forecasting.engine``;
``python -m forecasting`` is its file interface (docs/forecasting.md)."""
