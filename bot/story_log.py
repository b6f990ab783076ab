"""The log of story changes, as `storybot story log` shows it: who changed which story, where and when.

Pure module: the dataclass `bot.records` fills, and its plain-text form. The log is an admin
record, so unlike questions it names people: a Discord user id (with the name they had then) or
the login that ran `storybot story` on the host, and the server whose stories changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.record_report import printable

ACTIONS = ("add", "update", "remove")
SHARED = "shared"
"""The scope column's value for the shared stories; a server's changes hold its id."""


def scope_text(scope: int | None) -> str:
    """How the log stores a scope: "shared", or the server id."""
    return SHARED if scope is None else str(scope)


@dataclass(frozen=True, slots=True)
class StoryChangeRecord:
    """One change to the stories."""

    changed_at: float
    who: str  # "discord:<user id>" or "shell:<login>"
    who_name: str | None  # the Discord user name at the time, when known
    scope: str  # "shared" or a server id
    action: str  # add, update or remove
    title: str
    file: str  # relative to the corpus folder
    content_hash: str  # sha256 of the stored file (of the removed one for a removal)
    origin: str | None  # the link or file name it came from

    def to_json(self) -> dict[str, object]:
        return {
            "changed_at": datetime.fromtimestamp(self.changed_at, UTC).isoformat(timespec="seconds"),
            "who": self.who,
            "who_name": self.who_name,
            "scope": self.scope,
            "action": self.action,
            "title": self.title,
            "file": self.file,
            "content_hash": self.content_hash,
            "origin": self.origin,
        }


def format_story_log(rows: Sequence[StoryChangeRecord]) -> str:
    """`storybot story log`: the latest changes, newest first, one line each and where it came from."""
    if not rows:
        return "No story changes recorded."
    lines = []
    for row in rows:
        when = datetime.fromtimestamp(row.changed_at, UTC).strftime("%Y-%m-%d %H:%M")
        where = "shared" if row.scope == SHARED else f"server {row.scope}"
        who = row.who + (f" ({printable(row.who_name, 40)})" if row.who_name else "")
        lines.append(f"{when}  {row.action:<7} {where:<28} “{printable(row.title, 80)}”")
        lines.append(f"      {printable(row.file, 100)}  sha256 {row.content_hash[:12]}  by {printable(who, 80)}")
        if row.origin:
            lines.append(f"      from {printable(row.origin, 120)}")
    return "\n".join(lines)
