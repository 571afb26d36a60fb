"""``manage.py rollout diff FILE`` / ``rollout apply FILE``: a city's rollout file (see
``docs/rollout.md``) against the database."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from network.errors import RolloutFileInvalid
from network.rollout import Change, rollout_apply, rollout_diff, rollout_load


class Command(BaseCommand):
    help = (
        "Show what a city's rollout file would change (diff) or apply it (apply). "
        "An invalid file lists every mistake and writes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        diff = sub.add_parser("diff", help="show what applying the file would change")
        diff.add_argument("file")
        apply = sub.add_parser("apply", help="apply the file, all or nothing")
        apply.add_argument("file")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            plan = rollout_load(options["file"])
            apply = options["action"] == "apply"
            changes = rollout_apply(plan) if apply else rollout_diff(plan)
        except RolloutFileInvalid as exc:
            for error in exc.detail["errors"]:
                self.stderr.write(error)
            raise CommandError(exc.message, returncode=1) from exc
        for change in changes:
            self.stdout.write(str(change))
        self.stdout.write(_summary(changes, applied=apply))


def _summary(changes: list[Change], *, applied: bool) -> str:
    if not changes:
        return "no changes"
    counts: Counter[str] = Counter(change.action for change in changes)
    parts = ", ".join(f"{counts[a]} {a}" for a in ("create", "update", "delete") if counts[a])
    return f"{'applied' if applied else 'would apply'} {len(changes)} change(s): {parts}"
