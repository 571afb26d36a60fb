"""The rollout file of a city (TOML, see ``docs/rollout.md``): load and check it, show what it
would change, and apply it.

``rollout_load`` reads and checks the whole file and reports every mistake at once, each with
its line and key. ``rollout_diff`` and ``rollout_apply`` share one computation (``_changes``):
apply writes exactly the changes the diff shows, in one transaction, so a second apply of the
same file finds nothing to do. The file is the truth for its city: services, channels and
serving locations the file no longer names are removed from the city, and so are its daily
capacities and pickup hours, the channels' buffers at its locations and the channels' routing
profiles for the city. Those routing settings are written through ``network.services`` (source
``rollout``), so each change leaves a ``ConfigChange`` audit row like one made in the admin.
"""

from .apply import rollout_apply
from .diff import rollout_diff
from .parse import rollout_load, rollout_parse
from .plan import Change, RolloutIssue, RolloutPlan

__all__ = [
    "Change",
    "RolloutIssue",
    "RolloutPlan",
    "rollout_apply",
    "rollout_diff",
    "rollout_load",
    "rollout_parse",
]
