"""DC-to-store allocation: the pure optimizer (``model``), its service, task, API and CLI.

``inventory.allocation.model`` imports no Django; everything else here does.
"""
