"""What a question asks before it meets the index, and the candidates it finds there."""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from index.retrieval.lexical import fold, terms, terms_of_words, words
from index.retrieval.qtypes import QType, question_type

_NEGATIONS = frozenset(
    {
        "not",
        "never",
        "no",
        "none",
        "nor",
        "without",
        "neither",
        "didn't",
        "doesn't",
        "don't",
        "isn't",
        "wasn't",
        "weren't",
        "aren't",
        "can't",
        "cannot",
        "won't",
        "hasn't",
        "haven't",
        "hadn't",
    }
)
_ENTITY = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][\w'’-]*")
_NUMBER = re.compile(r"\d[\d,.]*")


@dataclass(frozen=True, slots=True)
class Query:
    """What one question (with its follow-up context) asks, before it meets the index."""

    text: str
    terms: tuple[str, ...]  # unique content stems: the question's, then its context's
    bigrams: frozenset[tuple[str, str]]
    qtype: QType
    words: frozenset[str]  # the question's own words (names it already mentions)
    entities: frozenset[str]
    numbers: frozenset[str]
    negated: bool

    @classmethod
    def of(cls, question: str, context: str | None = None) -> Query:
        question_words = words(question)
        stems = terms_of_words(question_words) + (terms(context) if context else [])
        return cls(
            question,
            tuple(dict.fromkeys(stems)),
            frozenset(pairwise(stems)),
            question_type(question),
            frozenset(question_words),
            frozenset(fold(m.group(0)) for m in _ENTITY.finditer(question.strip())),
            frozenset(m.group(0).rstrip(".,") for m in _NUMBER.finditer(question)),
            any(w in _NEGATIONS for w in question_words),
        )


@dataclass(frozen=True, slots=True)
class CandidateBatch:
    """The candidate sentences of several questions, stacked: question q owns rows offsets[q]:offsets[q + 1]."""

    queries: tuple[Query, ...]
    offsets: np.ndarray
    ids: np.ndarray  # sentence ids into IndexData.sentences, ascending within a question
    features: np.ndarray  # (rows, len(RANK_FEATURES))
    term_offsets: np.ndarray  # question q's terms are entries term_offsets[q]:term_offsets[q + 1] below
    term_columns: np.ndarray  # each term's column in the index's vocabulary, -1 if the index lacks it
    term_idf: np.ndarray
    question_level: np.ndarray  # (questions, 2): negated, log_terms

    @property
    def question_of(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.queries)), np.diff(self.offsets))

    def rows(self, q: int) -> slice:
        return slice(int(self.offsets[q]), int(self.offsets[q + 1]))
