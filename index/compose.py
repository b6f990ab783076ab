"""From ranked sentences to quotes: short, verbatim, never overlapping.

The first quote is one sentence unless its neighbour in the same paragraph scores nearly as
well (the answer runs across both); later quotes are the next best sentences elsewhere.
"""

from __future__ import annotations

from bisect import bisect_left
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
    order = np.argsort(-scores, kind="stable")
    by_id = np.argsort(ids, kind="stable")
    sorted_ids, sorted_scores = ids[by_id].tolist(), scores[by_id].tolist()
    id_list, score_list = ids.tolist(), scores.tolist()

    def score_of(sid: int) -> float | None:
        """The candidate score of sentence `sid`, None if it is not a candidate."""
        at = bisect_left(sorted_ids, sid)
        return sorted_scores[at] if at < len(sorted_ids) and sorted_ids[at] == sid else None

    used: set[int] = set()
    spans: list[Span] = []
    for pos in order.tolist():
        sid = id_list[pos]
        if sid in used:
            continue
        score = score_list[pos]
        first = last = sid
        chars = int(sentence_chars[sid])
        while last - first + 1 < MAX_RUN:
            grown = False
            for cand in (last + 1, first - 1):
                neighbour = score_of(cand)
                if neighbour is None or cand in used or paragraph_of[cand] != paragraph_of[sid]:
                    continue
                if neighbour >= score - MERGE_MARGIN and chars + int(sentence_chars[cand]) <= MAX_QUOTE_CHARS:
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
