"""From ranked sentences to quotes that read like an answer: short, verbatim, never overlapping.

The first quote is the best passage: one sentence unless its neighbour in the same paragraph
scores nearly as well (the answer runs across both). Further quotes come only when they score
close to it, so a clear answer is not padded with loosely related passages; quotes that end
up next to each other in one paragraph are one quote; after the first, they follow the
story's order, as a reader would meet them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

MERGE_MARGIN = 0.35
"""A neighbour within this many logits of a chosen sentence joins it in one quote."""
MAX_RUN = 3
MAX_QUOTE_CHARS = 600
ADD_MARGIN = 3.0
"""A further quote must score within this many logits of the first to be shown."""


@dataclass(frozen=True, slots=True)
class Span:
    """A run of adjacent sentences [first, last] (sentence ids) of one paragraph."""

    first: int
    last: int
    score: float


def compose(
    ids: np.ndarray,
    scores: np.ndarray,
    paragraph_of: np.ndarray,
    sentence_chars: np.ndarray,
    k: int,
) -> list[Span]:
    """Choose up to k non-overlapping runs, best first (ties: the earlier candidate)."""
    if len(ids) == 0 or k <= 0:
        return []
    by_id = np.argsort(ids, kind="stable")
    place = np.empty(len(ids), np.int64)
    place[by_id] = np.arange(len(ids))
    ranked = place[np.argsort(-scores, kind="stable")]
    ids = ids[by_id]
    return compose_ranked(
        ids.tolist(),
        scores[by_id].tolist(),
        ranked.tolist(),
        paragraph_of[ids].tolist(),
        sentence_chars[ids].tolist(),
        k,
    )


def compose_ranked(
    ids: Sequence[int],
    scores: Sequence[float],
    ranked: Iterable[int],
    paragraphs: Sequence[int],
    chars: Sequence[int],
    k: int,
) -> list[Span]:
    """`compose` for candidates already in ascending id order, given their positions best first
    and each one's paragraph and length (plain lists: this loop is per question, in Python).

    The engine has all of these for a whole batch at once; a sentence's neighbours among the
    candidates are then simply the adjacent positions, and only the few best candidates are
    ever looked at.
    """
    used: set[int] = set()
    spans: list[Span] = []
    for pos in ranked:
        sid = ids[pos]
        if sid in used:
            continue
        score = scores[pos]
        paragraph = paragraphs[pos]
        first_pos = last_pos = pos
        total = chars[pos]
        while last_pos - first_pos + 1 < MAX_RUN:
            grown = False
            for at, step in ((last_pos + 1, 1), (first_pos - 1, -1)):
                if not 0 <= at < len(ids):
                    continue
                cand = ids[at]
                if cand != ids[at - step] + step or cand in used or paragraphs[at] != paragraph:
                    continue
                if scores[at] >= score - MERGE_MARGIN and total + chars[at] <= MAX_QUOTE_CHARS:
                    total += chars[at]
                    first_pos, last_pos = min(first_pos, at), max(last_pos, at)
                    grown = True
                    break
            if not grown:
                break
        first, last = ids[first_pos], ids[last_pos]
        used.update(range(first, last + 1))
        spans.append(Span(first, last, score))
        if len(spans) >= k:
            break
    return spans


def arrange(
    spans: Sequence[Span],
    paragraph_of: Callable[[int], int],
    chars: Callable[[int, int], int],
    margin: float | None = ADD_MARGIN,
) -> list[Span]:
    """The best span first, then those close enough to add to it, adjacent ones joined, in story order.

    `paragraph_of(sentence)` and `chars(first, last)` look up what joining needs; sentence ids
    run in story order, so sorting by id is reading order. With `margin` None every span is
    kept: when the engine is unsure, the reader is shown the closest passages to choose from.
    """
    if not spans:
        return []
    best = spans[0]
    kept = [best, *(s for s in spans[1:] if margin is None or s.score >= best.score - margin)]
    kept.sort(key=lambda s: s.first)
    joined: list[Span] = []
    for span in kept:
        if joined:
            last = joined[-1]
            if (
                span.first == last.last + 1
                and paragraph_of(span.first) == paragraph_of(last.last)
                and chars(last.first, span.last) <= MAX_QUOTE_CHARS
            ):
                joined[-1] = Span(last.first, span.last, max(last.score, span.score))
                continue
        joined.append(span)
    first = next(s for s in joined if s.first <= best.first <= s.last)
    return [first, *(s for s in joined if s is not first)]
