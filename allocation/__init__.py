"""DC-to-store allocation: the pure optimizer (``optimizer``), its service, task, API and CLI.

``allocation.optimizer`` imports no Django; everything else here does.
"""
