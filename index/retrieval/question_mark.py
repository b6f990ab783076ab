"""A question mark where a chat question has none.

People in chat often leave it off ("who is paul tuozzolo") or end with a full stop. The models
learned from written questions, which end with one, and score a question without it as a
weaker match, so fewer fair questions would be answered and fewer answer words marked. The mark
goes on what the models read, not on what the card shows.
"""

from __future__ import annotations

_LOOSE_END = ".!,;:…"


def as_question(text: str) -> str:
    """The text ending with one question mark (whatever punctuation it ended with goes)."""
    core = text.rstrip().rstrip(_LOOSE_END + " ")
    if not core or core.endswith("?"):
        return core or text
    return core + "?"
