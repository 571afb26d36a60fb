"""What the pick page says after a scan or a short pick: a sentence in the picker's language
saying what happened and what to do next. The error codes stay in the API; the page keeps the
code only in a data attribute (for support and tests)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext

from fulfillment.errors import FulfillmentErrorCode, ShortPickInvalid
from fulfillment.models import PickTask
from fulfillment.services import ScanOutcome
from omni.errors import ApplicationError
from staff.views.common import Notice

PICKED = "picked"


def _where(task: PickTask | None) -> str:
    """What to do instead: the item of the current stop, where it is."""
    if task is None:
        return gettext("Nothing is left to pick on this list.")
    return gettext("Scan %(sku)s %(name)s from bin %(bin)s, or type its SKU.") % {
        "sku": task.product.sku,
        "name": task.product.name,
        "bin": task.bin_code or "—",
    }


def _refusal(code: str, scanned: str, task: PickTask | None, message: str) -> Notice:
    words: dict[str, Any] = {"scanned": scanned[:64]}
    if code == FulfillmentErrorCode.WRONG_ITEM:
        text = gettext("%(scanned)s is not wanted at this stop.") % words
    elif code == FulfillmentErrorCode.OVER_PICK and task is not None:
        text = gettext("Too many: this stop wants %(left)s more × %(sku)s.") % {
            "left": task.quantity - task.picked,
            "sku": task.product.sku,
        }
        extra = gettext(
            "Put the extra units back on the shelf, then scan again with the right number of units."
        )
        return Notice(ok=False, code=code, message=text, extra=extra)
    elif code == FulfillmentErrorCode.PICK_LIST_DONE:
        text = gettext("This pick list is finished: nothing more to pick.")
    elif code == FulfillmentErrorCode.PICK_TASK_CLOSED:
        text = gettext("This stop is done already.")
    elif code == "unknown_product":
        text = gettext("%(scanned)s is no item we know.") % words
    else:
        text = message
    return Notice(ok=False, code=code, message=text, extra=_where(task))


def scan_notice(
    *,
    scanned: str,
    task: PickTask | None,
    outcome: ScanOutcome | None = None,
    error: ApplicationError | None = None,
) -> Notice:
    """The answer to one scan: its ``outcome`` as the service stored it (a repeat of the same
    scan id gets the same answer), or the ``error`` it raised (a refusal, kept with the scan).
    ``task`` is the stop the picker is at now."""
    if error is not None:
        return _refusal(str(error.code), scanned, task, str(error.message))
    assert outcome is not None
    scan = outcome.scan
    if scan.result != PICKED:
        return _refusal(scan.result, scanned, task, gettext("The scan was refused."))
    done = outcome.task
    if done is None:
        return Notice.success(gettext("Picked."))
    words = {
        "quantity": scan.credited,
        "sku": done.product.sku,
        "picked": done.picked,
        "wanted": done.quantity,
    }
    if done.picked >= done.quantity:
        return Notice.success(
            gettext("Picked %(quantity)s × %(sku)s: this stop is done (%(picked)s of %(wanted)s).")
            % words
        )
    return Notice.success(
        gettext("Picked %(quantity)s × %(sku)s: %(picked)s of %(wanted)s.") % words
    )


def short_notice(*, task: PickTask, found: int, error: ApplicationError | None = None) -> Notice:
    if error is not None:
        if isinstance(error, ShortPickInvalid):
            return Notice(
                ok=False,
                code=str(error.code),
                message=gettext(
                    "Enter how many units you found in all: at least the %(picked)s already"
                    " picked and fewer than %(wanted)s."
                )
                % {"picked": task.picked, "wanted": task.quantity},
            )
        return Notice.failure(error)
    return Notice.success(
        gettext(
            "Short pick recorded: %(found)s of %(wanted)s × %(sku)s found."
            " The missing units are looked for elsewhere and the bin will be counted."
        )
        % {"found": found, "wanted": task.quantity, "sku": task.product.sku}
    )
