"""Candidate sentences for a question and the explainable features the scorer weighs.

Dense (MiniLM cosine) and lexical (BM25, term coverage) evidence are computed for the same
candidates, together with the sentence's paragraph and neighbours and whether it holds the kind
of thing the question asks for. Pure numpy over an `IndexData`: no model, no disk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.lexical import BM25Index, terms, words
from index.qtypes import QType, has_type, question_type
from index.store import IndexData
from index.vectors import prepare_for_search

RANK_FEATURES = (
    "dense_sent", "dense_para", "dense_neighbours", "dense_gap", "bm25_rel", "bm25_abs",
    "bm25_para_rel", "cover_sent", "cover_para", "cover_window", "bigram_sent", "type_match",
    "type_missing", "log_words", "dense_rr", "bm25_rr",
)
CONFIDENCE_FEATURES = (
    "top_score", "margin", "dense_sent", "dense_para", "cover_sent", "cover_para",
    "missing_para", "missing_story", "type_missing", "log_terms", "bm25_abs", "cover_window",
)
CANDIDATES_PER_SIDE = 100


@dataclass(frozen=True, slots=True)
class Candidates:
    """The sentences considered for one question, with one feature row each."""

    ids: np.ndarray  # sentence ids into IndexData.sentences
    features: np.ndarray  # (len(ids), len(RANK_FEATURES))
    question_terms: tuple[str, ...]
    qtype: QType
    term_idf: np.ndarray  # idf of each question term


class Retriever:
    """Derived, in-memory structures over a loaded index, built once per index."""

    def __init__(self, data: IndexData) -> None:
        self.data = data
        prepare_for_search(data.sentence_vectors)
        sentences = data.sentences
        self.size = len(sentences)
        self._paragraph_offsets = np.cumsum([0] + [len(s.paragraphs) for s in data.stories])
        self.paragraph_of = (self._paragraph_offsets[sentences[:, 0]] + sentences[:, 1]) if self.size else np.zeros(0, np.int64)
        self.texts = [self.sentence_text(i) for i in range(self.size)]
        paragraph_texts = [p for s in data.stories for p in s.paragraphs]
        self.sentence_terms = [terms(t) for t in self.texts]
        self.sentence_term_sets = [frozenset(t) for t in self.sentence_terms]
        self.sentence_bigrams = [frozenset(zip(t, t[1:])) for t in self.sentence_terms]
        self.paragraph_term_sets = [frozenset(terms(p)) for p in paragraph_texts]
        self.story_term_sets = [
            frozenset().union(*self.paragraph_term_sets[self._paragraph_offsets[s] : self._paragraph_offsets[s + 1]])
            for s in range(len(data.stories))
        ]
        self.sentence_words = np.array([len(words(t)) for t in self.texts], dtype=np.float32)
        self.bm25 = BM25Index(self.texts)
        self.paragraph_bm25 = BM25Index(paragraph_texts)
        self._vectors = _vector_view(data.sentence_vectors)
        same_para_prev = np.zeros(self.size, dtype=bool)
        if self.size > 1:
            same_para_prev[1:] = self.paragraph_of[1:] == self.paragraph_of[:-1]
        self.has_prev = same_para_prev
        self.has_next = np.append(same_para_prev[1:], False) if self.size else same_para_prev

    def sentence_text(self, i: int) -> str:
        story, para, start, end = (int(x) for x in self.data.sentences[i])
        return self.data.stories[story].paragraphs[para][start:end]

    def sentence_vectors(self, ids: np.ndarray) -> np.ndarray:
        if self._vectors is not None:
            return self._vectors[ids]
        return np.vstack([self.data.sentence_vectors.reconstruct(int(i)) for i in ids])

    def candidates(self, question: str, qvec: np.ndarray, context: str | None = None) -> Candidates:
        """Score the question against the index and return its candidate sentences."""
        q_terms = terms(question) + (terms(context) if context else [])
        unique_terms = tuple(dict.fromkeys(q_terms))
        qtype = question_type(question)
        idf = np.array([self.bm25.idf(t) for t in unique_terms], dtype=np.float32)
        if self.size == 0:
            return Candidates(np.zeros(0, np.int64), np.zeros((0, len(RANK_FEATURES)), np.float32), unique_terms, qtype, idf)

        bm25_all = self.bm25.scores(list(unique_terms))
        ids = self._candidate_ids(qvec, bm25_all)
        dense = self.sentence_vectors(ids) @ qvec
        para_ids = self.paragraph_of[ids]
        dense_para = self.data.paragraph_vectors[para_ids] @ qvec
        neighbours = self._neighbour_dense(ids, qvec)
        bm25 = bm25_all[ids]
        bm25_max = float(bm25_all.max()) if bm25_all.size else 0.0
        idf_sum = float(idf.sum()) or 1.0
        para_bm25_all = self.paragraph_bm25.scores(list(unique_terms))
        para_bm25 = para_bm25_all[para_ids]
        para_max = float(para_bm25_all.max()) if para_bm25_all.size else 0.0

        cover_sent = np.zeros(len(ids), np.float32)
        cover_para = np.zeros(len(ids), np.float32)
        cover_window = np.zeros(len(ids), np.float32)
        bigram = np.zeros(len(ids), np.float32)
        type_match = np.zeros(len(ids), np.float32)
        q_bigrams = set(zip(q_terms, q_terms[1:]))
        q_words = frozenset(words(question))
        for row, i in enumerate(ids):
            i = int(i)
            cover_sent[row] = _coverage(unique_terms, idf, self.sentence_term_sets[i]) / idf_sum
            cover_para[row] = _coverage(unique_terms, idf, self.paragraph_term_sets[para_ids[row]]) / idf_sum
            window = self.sentence_term_sets[i]
            if self.has_prev[i]:
                window = window | self.sentence_term_sets[i - 1]
            if self.has_next[i]:
                window = window | self.sentence_term_sets[i + 1]
            cover_window[row] = _coverage(unique_terms, idf, window) / idf_sum
            if q_bigrams:
                bigram[row] = len(q_bigrams & self.sentence_bigrams[i]) / len(q_bigrams)
            if qtype is not QType.OTHER and has_type(self.texts[i], qtype, q_words):
                type_match[row] = 1.0
        typed = 1.0 if qtype is not QType.OTHER else 0.0
        dense_rank = np.empty(len(ids), np.float32)
        dense_rank[np.argsort(-dense, kind="stable")] = np.arange(len(ids), dtype=np.float32)
        bm25_rank = np.empty(len(ids), np.float32)
        bm25_rank[np.argsort(-bm25, kind="stable")] = np.arange(len(ids), dtype=np.float32)
        features = np.column_stack([
            dense,
            dense_para,
            neighbours,
            dense - dense.max(),
            bm25 / bm25_max if bm25_max > 0 else np.zeros_like(bm25),
            bm25 / idf_sum,
            para_bm25 / para_max if para_max > 0 else np.zeros_like(para_bm25),
            cover_sent,
            cover_para,
            cover_window,
            bigram,
            type_match * typed,
            (1.0 - type_match) * typed,
            np.log1p(self.sentence_words[ids]),
            1.0 / (1.0 + dense_rank),
            1.0 / (1.0 + bm25_rank),
        ]).astype(np.float32)
        return Candidates(ids, features, unique_terms, qtype, idf)

    def _candidate_ids(self, qvec: np.ndarray, bm25_all: np.ndarray) -> np.ndarray:
        if self.size <= 2 * CANDIDATES_PER_SIDE:
            return np.arange(self.size)
        k = CANDIDATES_PER_SIDE
        _, dense_ids = self.data.sentence_vectors.search(qvec.reshape(1, -1).astype(np.float32), k)
        lexical = np.argpartition(-bm25_all, k)[:k] if bm25_all.any() else np.zeros(0, np.int64)
        ids = np.union1d(dense_ids[0][dense_ids[0] >= 0], lexical)
        return ids.astype(np.int64)

    def _neighbour_dense(self, ids: np.ndarray, qvec: np.ndarray) -> np.ndarray:
        out = np.zeros(len(ids), np.float32)
        prev_ids = ids[self.has_prev[ids]] - 1
        next_ids = ids[self.has_next[ids]] + 1
        if len(prev_ids):
            out[self.has_prev[ids]] = self.sentence_vectors(prev_ids) @ qvec
        if len(next_ids):
            nxt = self.sentence_vectors(next_ids) @ qvec
            mask = self.has_next[ids]
            out[mask] = np.maximum(out[mask], nxt)
        return out

    def confidence_features(self, cands: Candidates, scores: np.ndarray) -> np.ndarray:
        """Question-level evidence about the best candidate: is the answer really there?"""
        if len(cands.ids) == 0:
            return np.zeros(len(CONFIDENCE_FEATURES), np.float32)
        order = np.argsort(-scores, kind="stable")
        top = int(order[0])
        second = float(scores[order[1]]) if len(order) > 1 else float(scores[top]) - 5.0
        f = cands.features[top]
        name = RANK_FEATURES.index
        sentence = int(cands.ids[top])
        para = int(self.paragraph_of[sentence])
        story = int(self.data.sentences[sentence, 0])
        max_idf = float(self.bm25.idf("\x00unseen")) or 1.0
        idf_sum = float(cands.term_idf.sum()) or 1.0
        missing_para = max(
            (float(w) for t, w in zip(cands.question_terms, cands.term_idf) if t not in self.paragraph_term_sets[para]),
            default=0.0,
        ) / max_idf
        missing_story = sum(
            float(w) for t, w in zip(cands.question_terms, cands.term_idf) if t not in self.story_term_sets[story]
        ) / idf_sum
        return np.array([
            float(scores[top]),
            float(scores[top]) - second,
            f[name("dense_sent")],
            f[name("dense_para")],
            f[name("cover_sent")],
            f[name("cover_para")],
            missing_para,
            missing_story,
            f[name("type_missing")],
            np.log1p(len(cands.question_terms)),
            f[name("bm25_abs")],
            f[name("cover_window")],
        ], dtype=np.float32)


def _coverage(q_terms: tuple[str, ...], idf: np.ndarray, present: frozenset[str]) -> float:
    return float(sum(w for t, w in zip(q_terms, idf) if t in present))


def _vector_view(index: object) -> np.ndarray | None:
    """The flat index's vectors as a numpy view (no copy); None for indexes that hide them."""
    import faiss

    if isinstance(index, faiss.IndexFlat) and index.ntotal:
        return faiss.rev_swig_ptr(index.get_xb(), index.ntotal * index.d).reshape(index.ntotal, index.d)
    if isinstance(index, faiss.IndexFlat):
        return np.zeros((0, index.d), np.float32)
    return None
