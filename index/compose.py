"""From ranked sentences to quotes: short, verbatim, never overlapping.

The first quote is one sentence unless its neighbour in the same paragraph scores nearly as
well (the answer runs across both); later quotes are the next best sentences elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MERGE_MARGIN = 0.35
"""A neighbour within this many logits of a chosen sentence joins it in one quote."""
MAX_RUN = 3
MAX_QUOTE_CHARS = 600


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
    """Choose up to k non-overlapping runs, best first."""
    if len(ids) == 0 or k <= 0:
        return []
    by_id = {int(i): float(s) for i, s in zip(ids, scores)}
    order = np.argsort(-scores, kind="stable")
    used: set[int] = set()
    spans: list[Span] = []
    for pos in order:
        sid = int(ids[pos])
        if sid in used:
            continue
        score = float(scores[pos])
        first = last = sid
        chars = int(sentence_chars[sid])
        while last - first + 1 < MAX_RUN:
            grown = False
            for cand in (last + 1, first - 1):
                if cand in used or cand not in by_id or paragraph_of[cand] != paragraph_of[sid]:
                    continue
                if by_id[cand] >= score - MERGE_MARGIN and chars + int(sentence_chars[cand]) <= MAX_QUOTE_CHARS:
                    chars += int(sentence_chars[cand])
                    first, last = min(first, cand), max(last, cand)
                    grown = True
                    break
            if not grown:
                break
        used.update(range(first, last + 1))
        spans.append(Span(first, last, score))
        if len(spans) >= k:
            break
    return spans
