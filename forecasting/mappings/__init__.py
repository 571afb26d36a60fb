"""Mappings of foreign demand files onto Omni's SKUs and locations (``demand_import --mapping``)."""

from pathlib import Path

M5_HANGZHOU = Path(__file__).resolve().parent / "m5_hangzhou.toml"
