"""Candidate sentences for a question and the explainable features the scorer weighs.

Dense (MiniLM cosine) and lexical (BM25, term coverage) evidence are computed for the same
candidates, together with the sentence's paragraph and neighbours and whether it holds the kind
of thing the question asks for. Pure numpy over an `IndexData`: no model, no disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from index.lexical import BM25Index, fold, terms, words
from index.qtypes import QType, capitalised, has_date, has_number, question_type
from index.store import IndexData
from index.vectors import prepare_for_search

RANK_FEATURES = (
    "dense_sent", "dense_para", "dense_neighbours", "dense_gap", "bm25_rel", "bm25_abs",
    "bm25_para_rel", "cover_sent", "cover_para", "cover_window", "bigram_sent", "type_match",
    "type_missing", "log_words", "dense_rr", "bm25_rr",
)
EVIDENCE = ("missing_para", "missing_para_count", "missing_story", "missing_entity", "missing_number")
CONFIDENCE_FEATURES = (
    "top_score", "margin", "dense_sent", "dense_para", "cover_sent", "cover_para", "cover_window",
    "bm25_abs", "type_missing", *EVIDENCE, "negated", "log_terms",
)
_NEGATIONS = frozenset({"not", "never", "no", "none", "nor", "without", "neither", "didn't", "doesn't", "don't",
                        "isn't", "wasn't", "weren't", "aren't", "can't", "cannot", "won't", "hasn't", "haven't", "hadn't"})
_ENTITY = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][\w'’-]*")
_NUMBER = re.compile(r"\d[\d,.]*")
CANDIDATES_PER_SIDE = 100


@dataclass(frozen=True, slots=True)
class Candidates:
    """The sentences considered for one question, with one feature row each."""

    ids: np.ndarray  # sentence ids into IndexData.sentences
    features: np.ndarray  # (len(ids), len(RANK_FEATURES))
    question_terms: tuple[str, ...]
    qtype: QType
    term_idf: np.ndarray  # idf of each question term
    evidence: np.ndarray  # (len(ids), len(EVIDENCE)): what of the question the candidate's paragraph lacks
    question_level: np.ndarray  # (negated, log_terms)


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
        sentence_terms = [terms(t) for t in self.texts]
        # Names and numbers count as present in a paragraph if its story's title or lead has them:
        # a news paragraph says "we locked up" where the question says "the NYPD".
        self.paragraph_folded = [
            fold(" ".join((p, story.title, story.paragraphs[0])))
            for story in data.stories
            for p in story.paragraphs
        ]
        self._vocab: dict[str, int] = {}
        self._bigram_vocab: dict[tuple[str, str], int] = {}
        self._caps_vocab: dict[str, int] = {}
        self._terms = _incidence([set(t) for t in sentence_terms], self._vocab)
        self._bigrams = _incidence([set(zip(t, t[1:])) for t in sentence_terms], self._bigram_vocab)
        caps = [capitalised(t) for t in self.texts]
        self._caps = _incidence(caps, self._caps_vocab)
        self._caps_count = np.array([len(c) for c in caps], dtype=np.float32)
        self._has_number = np.array([has_number(t) for t in self.texts], dtype=bool)
        self._has_date = np.array([has_date(t) for t in self.texts], dtype=bool)
        n_paragraphs = len(paragraph_texts)
        to_paragraph = sparse.csr_matrix(
            (np.ones(self.size, np.float32), (self.paragraph_of, np.arange(self.size))), shape=(n_paragraphs, self.size)
        )
        self._para_terms = _binary(to_paragraph @ self._terms.tocsr()).tocsc()
        story_of_paragraph = np.repeat(np.arange(len(data.stories)), [len(s.paragraphs) for s in data.stories])
        to_story = sparse.csr_matrix(
            (np.ones(n_paragraphs, np.float32), (story_of_paragraph, np.arange(n_paragraphs))), shape=(len(data.stories), n_paragraphs)
        )
        self._story_terms = _binary(to_story @ self._para_terms.tocsr()).tocsc()
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
        question_level = np.array(
            [float(any(w in _NEGATIONS for w in words(question))), np.log1p(len(unique_terms))], dtype=np.float32
        )
        if self.size == 0:
            empty = np.zeros((0, len(RANK_FEATURES)), np.float32)
            return Candidates(np.zeros(0, np.int64), empty, unique_terms, qtype, idf, np.zeros((0, len(EVIDENCE)), np.float32), question_level)

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

        cols = [self._vocab.get(t, -1) for t in unique_terms]
        known = np.array([c >= 0 for c in cols], dtype=bool)
        known_cols = [c for c in cols if c >= 0]
        known_idf = idf[known]
        hits = self._columns(self._terms, known_cols)  # (all sentences, known terms)
        cover_sent = (hits[ids] @ known_idf) / idf_sum
        para_hits = self._columns(self._para_terms, known_cols)
        cover_para = (para_hits[para_ids] @ known_idf) / idf_sum
        window = hits[ids].copy()
        prev_mask, next_mask = self.has_prev[ids], self.has_next[ids]
        window[prev_mask] = np.maximum(window[prev_mask], hits[ids[prev_mask] - 1])
        window[next_mask] = np.maximum(window[next_mask], hits[ids[next_mask] + 1])
        cover_window = (window @ known_idf) / idf_sum
        q_bigrams = set(zip(q_terms, q_terms[1:]))
        bigram_cols = [c for b in q_bigrams if (c := self._bigram_vocab.get(b, -1)) >= 0]
        bigram = self._columns(self._bigrams, bigram_cols)[ids].sum(axis=1) / len(q_bigrams) if q_bigrams else np.zeros(len(ids), np.float32)
        type_match = self._type_match(qtype, question, ids)
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
        evidence = self._evidence(question, ids, para_ids, unique_terms, idf, para_hits, known)
        return Candidates(ids, features, unique_terms, qtype, idf, evidence, question_level)

    @staticmethod
    def _columns(matrix: sparse.csc_matrix, cols: list[int]) -> np.ndarray:
        """Dense 0/1 columns of a binary CSC matrix (a handful of query terms: cheap)."""
        out = np.zeros((matrix.shape[0], len(cols)), np.float32)
        for j, c in enumerate(cols):
            out[matrix.indices[matrix.indptr[c] : matrix.indptr[c + 1]], j] = 1.0
        return out

    def _type_match(self, qtype: QType, question: str, ids: np.ndarray) -> np.ndarray:
        """1 where the sentence holds the kind of thing the question asks for."""
        if qtype is QType.NUMBER:
            return self._has_number[ids].astype(np.float32)
        if qtype is QType.DATE:
            return self._has_date[ids].astype(np.float32)
        if qtype in (QType.PERSON, QType.PLACE):
            cols = [c for w in set(words(question)) if (c := self._caps_vocab.get(w, -1)) >= 0]
            overlap = self._columns(self._caps, cols)[ids].sum(axis=1)
            return (self._caps_count[ids] - overlap > 0).astype(np.float32)
        return np.ones(len(ids), np.float32)

    def _evidence(
        self, question: str, ids: np.ndarray, para_ids: np.ndarray, q_terms: tuple[str, ...], idf: np.ndarray, para_hits: np.ndarray, known: np.ndarray
    ) -> np.ndarray:
        """Per candidate: the question's rare terms, names and numbers its paragraph lacks."""
        max_idf = float(self.bm25.idf("\x00unseen")) or 1.0
        idf_sum = float(idf.sum()) or 1.0
        unique_paras, inverse = np.unique(para_ids, return_inverse=True)
        present = np.zeros((len(unique_paras), len(idf)), np.float32)
        present[:, known] = para_hits[unique_paras]
        missing_idf = (1.0 - present) * idf
        stories = self.data.sentences[ids, 0][np.unique(para_ids, return_index=True)[1]]
        story_present = np.zeros((len(unique_paras), len(idf)), np.float32)
        cols = [self._vocab[t] for t, k in zip(q_terms, known) if k]
        story_present[:, known] = self._columns(self._story_terms, cols)[stories]
        entities = {fold(m.group(0)) for m in _ENTITY.finditer(question.strip())}
        numbers = {m.group(0).rstrip(".,") for m in _NUMBER.finditer(question)}
        per_para = np.zeros((len(unique_paras), len(EVIDENCE)), np.float32)
        per_para[:, 0] = missing_idf.max(axis=1, initial=0.0) / max_idf
        per_para[:, 1] = (missing_idf > 0.5 * max_idf).sum(axis=1)
        per_para[:, 2] = ((1.0 - story_present) * idf).sum(axis=1) / idf_sum
        for row, para in enumerate(unique_paras):
            text = self.paragraph_folded[int(para)]
            if entities:
                per_para[row, 3] = sum(1 for e in entities if e not in text) / len(entities)
            if numbers:
                per_para[row, 4] = sum(1 for n in numbers if n not in text) / len(numbers)
        return per_para[inverse]

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
        return confidence_features(cands.features, cands.evidence, cands.question_level, scores)


def confidence_features(features: np.ndarray, evidence: np.ndarray, question_level: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Pure: the confidence model's inputs from one question's candidate rows and their scores."""
    if len(scores) == 0:
        return np.zeros(len(CONFIDENCE_FEATURES), np.float32)
    order = np.argsort(-scores, kind="stable")
    top = int(order[0])
    second = float(scores[order[1]]) if len(order) > 1 else float(scores[top]) - 5.0
    f = features[top]
    name = RANK_FEATURES.index
    picked = [f[name(n)] for n in ("dense_sent", "dense_para", "cover_sent", "cover_para", "cover_window", "bm25_abs", "type_missing")]
    return np.array(
        [float(scores[top]), float(scores[top]) - second, *picked, *evidence[top], *question_level],
        dtype=np.float32,
    )


def _incidence(rows: list[set], vocab: dict) -> sparse.csc_matrix:  # type: ignore[type-arg]
    """A binary (rows × vocabulary) matrix, growing `vocab` as it meets new items."""
    indptr, indices = [0], []
    for items in rows:
        indices.extend(vocab.setdefault(item, len(vocab)) for item in items)
        indptr.append(len(indices))
    data = np.ones(len(indices), np.float32)
    return sparse.csr_matrix((data, indices, indptr), shape=(len(rows), max(1, len(vocab)))).tocsc()


def _binary(matrix: sparse.spmatrix) -> sparse.csr_matrix:
    out = sparse.csr_matrix(matrix)
    out.data[:] = 1.0
    return out


def _vector_view(index: object) -> np.ndarray | None:
    """The flat index's vectors as a numpy view (no copy); None for indexes that hide them."""
    import faiss

    if isinstance(index, faiss.IndexFlat) and index.ntotal:
        return faiss.rev_swig_ptr(index.get_xb(), index.ntotal * index.d).reshape(index.ntotal, index.d)
    if isinstance(index, faiss.IndexFlat):
        return np.zeros((0, index.d), np.float32)
    return None
