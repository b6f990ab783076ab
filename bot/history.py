"""Follow-ups: the earlier questions of a conversation, as the engine takes them.

The engine reads a follow-up's `history` (its earlier questions, oldest first) and uses it only
where the follow-up points back at it; the front ends gather that history from replies, the
records or a scripted JSON line, and send at most the latest few.

Pure module: no discord import (`storybot ask -` uses it too).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

MAX_HISTORY = 3
"""At most this many earlier questions go with a follow-up (the engine reads the latest two)."""


def clean_history(history: Sequence[str]) -> list[str]:
    """The latest `MAX_HISTORY` earlier questions, each on one line, empty ones dropped."""
    return [line for line in (" ".join(h.split()) for h in history if isinstance(h, str)) if line][-MAX_HISTORY:]
