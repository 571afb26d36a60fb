"""Error codes of allocation, and the errors built from the run they are about."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar

from django.utils.translation import gettext_lazy as _

from omni.errors import Conflict, NotFound

if TYPE_CHECKING:
    from .models import AllocationRun


class AllocationErrorCode(StrEnum):
    NO_PLAN = "allocation_no_plan"
    ALREADY_DECIDED = "allocation_already_decided"


class UnknownAllocationRun(NotFound):
    def __init__(self) -> None:
        super().__init__(_("no such allocation run"))


class AllocationNoPlan(Conflict):
    """The run ended without a plan (``detail``: its ``run`` and ``status``)."""

    code: ClassVar[str] = AllocationErrorCode.NO_PLAN

    def __init__(self, run: AllocationRun) -> None:
        data = {"run": run.pk, "status": run.status}
        super().__init__(
            _("allocation run %(run)s is %(status)s: it has no plan to approve"),
            detail=data,
            params=data,
        )


class AllocationAlreadyDecided(Conflict):
    """The run was approved or rejected already (``detail["run"]``; ``decision`` too when a
    page asked to decide it again)."""

    code: ClassVar[str] = AllocationErrorCode.ALREADY_DECIDED

    def __init__(self, run: AllocationRun, *, again: bool = False) -> None:
        params = {"run": run.pk, "decision": run.decision}
        if again:
            message = _("allocation run %(run)s was already %(decision)s")
            super().__init__(message, detail=params, params=params)
        else:
            message = _("allocation run %(run)s was %(decision)s")
            super().__init__(message, detail={"run": run.pk}, params=params)
