"""The loyalty router (mounted under ``/api/v1`` by ``omni.api``).

No ``from __future__ import annotations``: ninja reads the annotations.
"""

from ninja import Router

router = Router(tags=["loyalty"])
