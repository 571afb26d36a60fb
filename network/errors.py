"""Error codes of the network: an unknown channel or routing profile, a rollout file with
mistakes."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from django.utils.translation import gettext_lazy as _

from omni.errors import InvalidInput, NotFound


class NetworkErrorCode(StrEnum):
    UNKNOWN_CHANNEL = "unknown_channel"
    UNKNOWN_ROUTING_PROFILE = "unknown_routing_profile"


class UnknownChannel(NotFound):
    """No channel the caller may name (a channel's integration names only its own), one body
    whatever the code; with ``named=False`` the caller named none (``detail["field"]``)."""

    code: ClassVar[str] = NetworkErrorCode.UNKNOWN_CHANNEL

    def __init__(self, *, named: bool = True) -> None:
        if named:
            super().__init__(_("no such channel"))
        else:
            super().__init__(_("name the channel"), detail={"field": "channel"})


class UnknownRoutingProfile(NotFound):
    code: ClassVar[str] = NetworkErrorCode.UNKNOWN_ROUTING_PROFILE

    def __init__(self) -> None:
        super().__init__(_("no such routing profile"))


class RolloutErrorCode(StrEnum):
    ROLLOUT_FILE_INVALID = "rollout_file_invalid"


class RolloutFileInvalid(InvalidInput):
    """A rollout file with mistakes. ``detail["errors"]`` lists every one of them, each as
    ``file:line: key: message``; nothing was written."""

    code: ClassVar[str] = RolloutErrorCode.ROLLOUT_FILE_INVALID
