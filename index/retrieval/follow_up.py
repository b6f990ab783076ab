"""Follow-ups: a question is answered on its own words; the earlier exchange only fills gaps.

"what did the union say?" asked after a question about the mayor is about the union, and
the mayor must not pull it back. The earlier question is used only when the follow-up leans
on it: a pronoun ("what did he say"), a "what about …" that borrows the earlier question's
frame, or too few words of its own to stand alone. For "what about X" the earlier question
gives its frame without its names, so X replaces them rather than joining them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from index.retrieval.lexical import terms, words

REFERRING_WORDS = frozenset(
    {
        "he", "him", "his", "himself", "she", "her", "hers", "herself", "they", "them", "their", "theirs",
        "themselves", "it", "its", "itself", "this", "that", "these", "those", "there", "then", "one", "ones",
        "same", "such",
    }
)  # fmt: skip
"""Words that point back at something the follow-up does not name."""

_SWITCH = re.compile(
    r"^\s*(?:and|also|so|but|ok|okay)?[\s,]*(?:what|how)\s+about\b|^\s*and\s+(?!then\b)", re.IGNORECASE
)
MIN_OWN_TERMS = 1
"""A question with fewer content words of its own than this (say, "why?") cannot stand alone."""


def leans_on_history(question: str) -> bool:
    """Does the question point back at the earlier exchange instead of standing on its own?"""
    if _SWITCH.search(question):
        return True
    if REFERRING_WORDS.intersection(words(question)):
        return True
    return len(set(terms(question))) < MIN_OWN_TERMS


def switches_subject(question: str) -> bool:
    """'what about X', 'and X?': the earlier question's frame, with X in place of its subject."""
    return bool(_SWITCH.search(question))


def context_for(
    question: str, history: Sequence[str], is_name: Callable[[str], bool] = lambda word: False
) -> str | None:
    """What of the earlier exchange a follow-up needs (None: it stands on its own words).

    `history` is oldest first. When the latest earlier question leaned on the one before it,
    both are used, so "what did he say" after "and his boss?" still knows who is meant.
    """
    earlier = [" ".join(h.split()) for h in history if h and h.strip()]
    if not earlier or not leans_on_history(question):
        return None
    context = earlier[-1]
    if len(earlier) > 1 and leans_on_history(context):
        context = f"{earlier[-2]} {context}"
    if switches_subject(question):
        return " ".join(w for w in context.split() if not is_name(w)) or None
    return context
