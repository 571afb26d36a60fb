"""Forecasting: demand history and forecast runs. Filled in by the forecasting issue."""
