"""Rollout files, one per city (see ``docs/rollout.md``); a package so that they ship with
Omni (``*.toml`` is package data)."""
