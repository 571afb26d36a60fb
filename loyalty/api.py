"""The loyalty router (mounted under ``/api/v1`` by ``omni.api``).

No ``from __future__ import annotations``: ninja reads the annotations.
"""

from ninja import Router

router = Router(tags=["loyalty"])

# A campaign's effect against its holdout (loyalty.effect_api): its own module, mounted here.
from loyalty.effect_api import router as effect_router  # noqa: E402

router.add_router("", effect_router)
