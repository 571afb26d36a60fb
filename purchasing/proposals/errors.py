"""Error codes of replenishment proposals, and the errors built from the run or line they are
about. ``purchasing.errors`` re-exports them, so the code walk of staff/messages.py finds them."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.translation import gettext_lazy as _

from omni.errors import Conflict, InvalidInput, NotFound

if TYPE_CHECKING:
    from purchasing.proposal_models import ProposalLine, ReplenishmentRun


class ProposalErrorCode(StrEnum):
    NOT_READY = "proposal_not_ready"
    ALREADY_DECIDED = "proposal_already_decided"
    QUANTITY_NOT_ORDERABLE = "proposal_quantity_not_orderable"
    PARAMETER_INVALID = "proposal_parameter_invalid"


class UnknownProposalRun(NotFound):
    def __init__(self) -> None:
        super().__init__(_("no such replenishment proposal"))


class UnknownProposalLine(NotFound):
    def __init__(self) -> None:
        super().__init__(_("no such proposal line"))


class ProposalNotReady(Conflict):
    """The run is still queued or running, or it failed (``detail``: ``run``, ``status``)."""

    code: ClassVar[str] = ProposalErrorCode.NOT_READY

    def __init__(self, run: ReplenishmentRun) -> None:
        data = {"run": run.pk, "status": run.status}
        super().__init__(
            _("replenishment proposal %(run)s is %(status)s, not ready for review"),
            detail=data,
            params=data,
        )


class ProposalAlreadyDecided(Conflict):
    """The run was approved or rejected already (``detail``: ``run``, ``decision``)."""

    code: ClassVar[str] = ProposalErrorCode.ALREADY_DECIDED

    def __init__(self, run: ReplenishmentRun) -> None:
        data = {"run": run.pk, "decision": run.decision}
        super().__init__(
            _("replenishment proposal %(run)s was %(decision)s already"), detail=data, params=data
        )


class ProposalQuantityNotOrderable(InvalidInput):
    """An edited quantity the supplier does not sell: below the MOQ or not a whole number of
    packs (``detail``: ``line``, ``sku``, ``quantity``, ``moq``, ``multiple``, ``suggested``)."""

    code: ClassVar[str] = ProposalErrorCode.QUANTITY_NOT_ORDERABLE

    def __init__(self, line: ProposalLine, quantity: int, suggested: int) -> None:
        data = {
            "line": line.pk,
            "sku": line.product.sku,
            "quantity": quantity,
            "moq": line.moq,
            "multiple": line.multiple,
            "suggested": suggested,
        }
        super().__init__(
            _(
                "%(quantity)s of %(sku)s cannot be ordered: at least %(moq)s, in packs of"
                " %(multiple)s (%(suggested)s would do)"
            ),
            detail=data,
            params=data,
        )


class ProposalParameterInvalid(InvalidInput):
    """A run parameter out of range (``detail``: ``field``, ``value``)."""

    code: ClassVar[str] = ProposalErrorCode.PARAMETER_INVALID

    def __init__(self, field: str, value: Any, message: Any) -> None:
        data = {"field": field, "value": value}
        super().__init__(message, detail=data, params=data)
