"""The span head: the words of a quote that answer the question, with how sure the head is of them.

It scores every (start, end) token pair of the passage against the "no answer here" reading
(the [CLS] token, as SQuAD 2.0 readers do); the margin between the best span and that reading is
what the engine compares with a threshold chosen on dev, so that a span is marked only when a
wrong mark is rare.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.heads.pairs import EncodedPair, PairTokenizer
from index.heads.runtime import HeadRuntime
from index.heads.spec import HeadSpec

MAX_ANSWER_TOKENS = 30
_TRIM = " \t\n,;:.!?\"'“”‘’()[]"


@dataclass(frozen=True, slots=True)
class FoundSpan:
    """Characters [start, end) of the passage, and the best span's margin over "no answer"."""

    start: int
    end: int
    margin: float


class AnswerReader:
    def __init__(self, spec: HeadSpec, tokenizer: PairTokenizer, runtime: HeadRuntime) -> None:
        self.spec = spec
        self.tokenizer = tokenizer
        self.runtime = runtime
        self.threshold = float(spec.meta.get("mark_margin", float("inf")))
        """A span is marked only when its margin over "no answer" reaches this (chosen on dev)."""

    def find(self, questions: Sequence[str], passages: Sequence[str]) -> list[FoundSpan | None]:
        """The best answer span of each passage (None when it has no word to mark)."""
        found: list[FoundSpan | None] = [None] * len(questions)
        if not len(questions):
            return found
        pairs = self.tokenizer.encode(questions, passages)
        for rows, feeds in self.tokenizer.chunks(pairs):
            starts, ends = self.runtime.run(feeds)
            for k, row in enumerate(rows):
                found[row] = best_span(pairs[row], starts[k], ends[k], passages[row])
        return found


def best_span(pair: EncodedPair, start_logits: np.ndarray, end_logits: np.ndarray, passage: str) -> FoundSpan | None:
    """Pure: the highest-scoring span of passage tokens, trimmed of edge punctuation."""
    tokens = np.array([i for i, o in enumerate(pair.passage_offsets) if o is not None], np.int64)
    if not len(tokens):
        return None
    start, end = start_logits[tokens], end_logits[tokens]
    scores = start[:, None] + end[None, :]
    distance = tokens[None, :] - tokens[:, None]
    scores = np.where((distance >= 0) & (distance < MAX_ANSWER_TOKENS), scores, -np.inf)
    a, b = np.unravel_index(int(np.argmax(scores)), scores.shape)
    first, last = pair.passage_offsets[int(tokens[a])], pair.passage_offsets[int(tokens[b])]
    if first is None or last is None:
        return None
    lo, hi = first[0], last[1]
    while lo < hi and passage[lo] in _TRIM:
        lo += 1
    while hi > lo and passage[hi - 1] in _TRIM:
        hi -= 1
    if lo >= hi:
        return None
    margin = float(scores[a, b] - (start_logits[0] + end_logits[0]))
    return FoundSpan(lo, hi, margin)
