"""Error codes of the network: a rollout file with mistakes."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from omni.errors import InvalidInput


class RolloutErrorCode(StrEnum):
    ROLLOUT_FILE_INVALID = "rollout_file_invalid"


class RolloutFileInvalid(InvalidInput):
    """A rollout file with mistakes. ``detail["errors"]`` lists every one of them, each as
    ``file:line: key: message``; nothing was written."""

    code: ClassVar[str] = RolloutErrorCode.ROLLOUT_FILE_INVALID
