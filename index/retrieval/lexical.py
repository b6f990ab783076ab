"""Lexical side of retrieval: word normalisation and BM25 (bm25s: sparse matrices, no Python
loop per document, so it stays fast at tens of thousands of sentences)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

import bm25s
import numpy as np
import Stemmer
from scipy import sparse

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)

STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "aren't",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "couldn't",
        "did",
        "didn't",
        "do",
        "does",
        "doesn't",
        "doing",
        "don't",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "hadn't",
        "has",
        "hasn't",
        "have",
        "haven't",
        "having",
        "he",
        "he'd",
        "he'll",
        "he's",
        "her",
        "here",
        "here's",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "how's",
        "i",
        "i'd",
        "i'll",
        "i'm",
        "i've",
        "if",
        "in",
        "into",
        "is",
        "isn't",
        "it",
        "it's",
        "its",
        "itself",
        "let's",
        "me",
        "more",
        "most",
        "mustn't",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "ought",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "shan't",
        "she",
        "she'd",
        "she'll",
        "she's",
        "should",
        "shouldn't",
        "so",
        "some",
        "such",
        "than",
        "that",
        "that's",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "there's",
        "these",
        "they",
        "they'd",
        "they'll",
        "they're",
        "they've",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "wasn't",
        "we",
        "we'd",
        "we'll",
        "we're",
        "we've",
        "were",
        "weren't",
        "what",
        "what's",
        "when",
        "when's",
        "where",
        "where's",
        "which",
        "while",
        "who",
        "who's",
        "whom",
        "why",
        "why's",
        "with",
        "won't",
        "would",
        "wouldn't",
        "you",
        "you'd",
        "you'll",
        "you're",
        "you've",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "also",
        "did",
        "does",
        "many",
        "much",
        "say",
        "said",
        "says",
        "tell",
        "told",
        "according",
    ]
)

_stemmer = Stemmer.Stemmer("english")


def fold(text: str) -> str:
    """Lower case without accents or typographic apostrophes, so "Café’s" meets "cafe's"."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("’", "'"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    stem: str = _stemmer.stemWord(word)
    return stem


def terms(text: str) -> list[str]:
    """Content-word stems: what BM25 and the overlap features count."""
    return terms_of_words(words(text))


def terms_of_words(text_words: Sequence[str]) -> list[str]:
    out = []
    for word in text_words:
        if word in STOP_WORDS:
            continue
        out.append(_stem(word.removesuffix("'s")))
    return out


class BM25Index:
    """BM25 over a list of texts, scored for a whole batch of queries with one sparse product."""

    def __init__(
        self, texts: Sequence[str], *, k1: float = 1.2, b: float = 0.75, text_terms: Sequence[list[str]] | None = None
    ) -> None:
        """`text_terms`: each text's `terms()`, when the caller has them already."""
        self.size = len(texts)
        tokenized = [t or [""] for t in (text_terms if text_terms is not None else (terms(t) for t in texts))]
        self._doc_freq: dict[str, int] = {}
        for doc in tokenized:
            for term in set(doc):
                self._doc_freq[term] = self._doc_freq.get(term, 0) + 1
        self._vocab: dict[str, int] = {}
        self._term_scores = sparse.csr_matrix((0, self.size), dtype=np.float32)
        if self.size:
            bm25 = bm25s.BM25(k1=k1, b=b)
            bm25.index(tokenized, show_progress=False)
            # bm25s keeps its precomputed per-(term, document) scores as one sparse matrix, rows
            # by token id (the arrays its `save` writes); one product then scores many queries.
            arrays = bm25.scores
            self._vocab = dict(bm25.vocab_dict)
            self._term_scores = sparse.csr_matrix(
                (arrays["data"], arrays["indices"], arrays["indptr"]),
                shape=(len(arrays["indptr"]) - 1, arrays["num_docs"]),
            )

    def idf(self, term: str) -> float:
        """Robertson-Sparck Jones idf, as BM25 uses it; unseen terms get the highest value."""
        n = self._doc_freq.get(term, 0)
        return float(np.log(1 + (self.size - n + 0.5) / (n + 0.5)))

    def term_scores(self, vocabulary: dict[str, int]) -> sparse.csr_matrix:
        """(vocabulary × texts) BM25 contributions, row i for the term whose id is i there."""
        ours = np.full(len(vocabulary), -1, np.int64)
        for term, row in vocabulary.items():
            ours[row] = self._vocab.get(term, -1) if term in self._doc_freq else -1
        if not len(ours):
            return sparse.csr_matrix((0, self.size), dtype=np.float32)
        present = ours >= 0
        picked = self._term_scores[ours[present]]
        spread = sparse.csr_matrix(
            (np.ones(int(present.sum()), np.float32), (np.nonzero(present)[0], np.arange(int(present.sum())))),
            shape=(len(ours), picked.shape[0]),
        )
        return sparse.csr_matrix(spread @ picked, dtype=np.float32)

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        scores: np.ndarray = self.scores_many([query_terms])[0]
        return scores

    def scores_many(self, queries: Sequence[Sequence[str]]) -> np.ndarray:
        """(queries, texts) BM25 scores; each query's terms counted once, unknown ones ignored."""
        rows, cols = [], []
        for row, query in enumerate(queries):
            for col in {self._vocab[t] for t in query if t in self._doc_freq}:
                rows.append(row)
                cols.append(col)
        chosen = sparse.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, cols)), shape=(len(queries), self._term_scores.shape[0])
        )
        return np.asarray((chosen @ self._term_scores).toarray(), dtype=np.float32)
