"""The cross-encoder: reads a question and a candidate sentence together and says how well one answers the other.

The first stage (dense and lexical features, `retrieval/`) finds the candidates cheaply; this head
rereads only the few best of each question, and its logit becomes one more input of the learned
scorer (and of the confidence model: a cross-encoder trained with SQuAD 2.0's unanswerable
questions also knows when no candidate answers).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from index.heads.pairs import PairTokenizer
from index.heads.runtime import HeadRuntime
from index.heads.spec import HeadSpec


class Reranker:
    def __init__(self, spec: HeadSpec, tokenizer: PairTokenizer, runtime: HeadRuntime) -> None:
        self.spec = spec
        self.tokenizer = tokenizer
        self.runtime = runtime

    def score(self, questions: Sequence[str], passages: Sequence[str]) -> np.ndarray:
        """One logit per (question, passage) pair, in the order given."""
        out = np.zeros(len(questions), np.float32)
        if not len(questions):
            return out
        pairs = self.tokenizer.encode(questions, passages)
        for rows, feeds in self.tokenizer.chunks(pairs):
            out[rows] = self.runtime.run(feeds)[0].reshape(-1)
        return out
