"""Error codes of demand history and forecast runs, and the errors built from the objects they
are about."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.translation import gettext_lazy as _

from omni.errors import Conflict, InvalidInput, NotFound, UnknownCity

if TYPE_CHECKING:
    from omni.models import City

    from .models import ForecastRun

__all__ = [
    "DemandFileInvalid",
    "ForecastErrorCode",
    "ForecastRunFinished",
    "ForecastRunInProgress",
    "ForecastRunNotReady",
    "NoDemandHistory",
    "NoForecast",
    "UnknownCity",
    "UnknownForecastRun",
    "UnknownModel",
]


class ForecastErrorCode(StrEnum):
    DEMAND_FILE_INVALID = "demand_file_invalid"
    UNKNOWN_FORECAST_RUN = "unknown_forecast_run"
    UNKNOWN_MODEL = "unknown_model"
    FORECAST_RUN_IN_PROGRESS = "forecast_run_in_progress"
    FORECAST_RUN_NOT_READY = "forecast_run_not_ready"
    FORECAST_RUN_FINISHED = "forecast_run_finished"
    NO_DEMAND_HISTORY = "no_demand_history"
    NO_FORECAST = "no_forecast"


class DemandFileInvalid(InvalidInput):
    """A history file with mistakes. ``detail["errors"]`` names every bad line
    (``file:line: message``, the first 50), with the ``file`` and the ``error_count``; nothing
    was imported. The message is the first error (data, in English like the file's own
    checks), then how many more there are. A mapping file's mistakes have ``errors`` only."""

    code: ClassVar[str] = ForecastErrorCode.DEMAND_FILE_INVALID

    def __init__(
        self,
        errors: Sequence[str],
        *,
        file: str | None = None,
        error_count: int | None = None,
    ) -> None:
        errors = list(errors)
        first = errors[0] if errors else "invalid history"
        if file is None:
            super().__init__(first, detail={"errors": errors})
            return
        count = error_count if error_count is not None else len(errors)
        if count > 1:
            message: Any = _("%(first)s (and %(more)s more problem(s))")
        else:
            message = "%(first)s"
        super().__init__(
            message,
            detail={"file": file, "errors": errors[:50], "error_count": count},
            params={"first": first, "more": count - 1},
        )

    @classmethod
    def unreadable_mapping(cls, name: str, exc: Exception) -> DemandFileInvalid:
        return cls.saying(
            _("%(file)s: cannot read the mapping (%(error)s)"),
            detail={"errors": [str(exc)]},
            file=name,
            error=str(exc),
        )


class UnknownForecastRun(NotFound):
    code: ClassVar[str] = ForecastErrorCode.UNKNOWN_FORECAST_RUN

    def __init__(self) -> None:
        super().__init__(_("no such forecast run"))


class UnknownModel(InvalidInput):
    """Model names the engine does not know (``detail["models"]``)."""

    code: ClassVar[str] = ForecastErrorCode.UNKNOWN_MODEL

    def __init__(self, names: Sequence[str], *, known: Sequence[str]) -> None:
        super().__init__(
            _("unknown model(s) %(names)s; known: %(known)s"),
            detail={"models": list(names)},
            params={"names": ", ".join(map(repr, names)), "known": ", ".join(known)},
        )


class ForecastRunInProgress(Conflict):
    """Another run of the same city is queued or running (``detail``: its ``run``, ``status``
    and ``progress``; none when it is not known which)."""

    code: ClassVar[str] = ForecastErrorCode.FORECAST_RUN_IN_PROGRESS

    def __init__(self, active: ForecastRun | None) -> None:
        if active is None:
            super().__init__(_("a forecast run of this city is already in progress"))
            return
        super().__init__(
            _("a forecast run of this city is already in progress (run %(run)s, %(status)s)"),
            detail={"run": active.pk, "status": active.status, "progress": active.progress},
            params={"run": active.pk, "status": active.status},
        )


class ForecastRunNotReady(Conflict):
    """The run has not succeeded: its forecasts are not served."""

    code: ClassVar[str] = ForecastErrorCode.FORECAST_RUN_NOT_READY

    def __init__(self, run: ForecastRun) -> None:
        data = {"run": run.pk, "status": run.status, "progress": run.progress}
        super().__init__(
            _("forecast run %(run)s is %(status)s: its forecasts are not served"),
            detail=data,
            params=data,
        )


class ForecastRunFinished(Conflict):
    code: ClassVar[str] = ForecastErrorCode.FORECAST_RUN_FINISHED

    def __init__(self, run: ForecastRun) -> None:
        data = {"run": run.pk, "status": run.status}
        super().__init__(_("forecast run %(run)s is already %(status)s"), detail=data, params=data)


class NoDemandHistory(InvalidInput):
    code: ClassVar[str] = ForecastErrorCode.NO_DEMAND_HISTORY

    def __init__(self, city: City | None) -> None:
        if city is None:
            message = _(
                "no demand history for any city: import some (manage.py demand_import) or sell"
                " something first"
            )
        else:
            message = _(
                "no demand history for %(city)s: import some (manage.py demand_import) or sell"
                " something first"
            )
        super().__init__(message, params={"city": city.name if city else ""})


class NoForecast(NotFound):
    """No succeeded run covers the series."""

    code: ClassVar[str] = ForecastErrorCode.NO_FORECAST
