"""Candidate sentences for questions and the explainable features the scorer weighs.

Dense (MiniLM cosine) and lexical (BM25, term coverage) evidence are computed for the same
candidates, together with the sentence's paragraph and neighbours and whether it holds the kind
of thing the question asks for. Pure numpy/scipy over an `IndexData`: no model, no disk.

A batch of questions is scored at once: each feature is one (questions × sentences) product
of sparse matrices, then gathered at the candidates, so 64 questions cost a few products
rather than 64 rounds of small array operations in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
from scipy import sparse

from index.retrieval.dense import DenseSearch
from index.retrieval.features import EVIDENCE, RANK_FEATURES
from index.retrieval.lexical import BM25Index, fold, terms_of_words, words
from index.retrieval.qtypes import QType, capitalised, has_date, has_number
from index.retrieval.query import CandidateBatch, Query
from index.retrieval.sparse_ops import (
    Entries,
    binary,
    gather,
    grouping,
    incidence,
    neighbourhood,
    question_matrix,
    segment_max,
    segment_rank,
    with_rows,
)
from index.store.generations import IndexData
from index.store.vectors import index_kind, prepare_for_search

CANDIDATES_PER_SIDE = 100
BATCH_CELLS = 4_000_000
"""Questions × sentences held as dense score matrices at once; bigger batches go in slices."""


class Retriever:
    """Derived, in-memory structures over a loaded index, built once per index."""

    def __init__(self, data: IndexData) -> None:
        self.data = data
        prepare_for_search(data.sentence_vectors)
        sentences = data.sentences
        self.size = len(sentences)
        paragraph_counts = [len(s.paragraphs) for s in data.stories]
        paragraph_offsets = np.cumsum([0, *paragraph_counts])
        self.paragraph_of = (
            (paragraph_offsets[sentences[:, 0]] + sentences[:, 1]) if self.size else np.zeros(0, np.int64)
        )
        texts = [self.sentence_text(i) for i in range(self.size)]
        paragraph_texts = [p for s in data.stories for p in s.paragraphs]
        sentence_word_lists = [words(t) for t in texts]  # one regex pass over the sentences, reused below
        sentence_terms = [terms_of_words(w) for w in sentence_word_lists]
        # Names and numbers count as present in a paragraph if its story's title or lead has them:
        # a news paragraph says "we locked up" where the question says "the NYPD".
        self.paragraph_folded = [
            fold(" ".join((p, story.title, story.paragraphs[0]))) for story in data.stories for p in story.paragraphs
        ]
        self._vocab: dict[str, int] = {}
        self._bigram_vocab: dict[tuple[str, str], int] = {}
        self._caps_vocab: dict[str, int] = {}
        sentence_incidence = incidence([set(t) for t in sentence_terms], self._vocab)
        bigram_incidence = incidence([set(pairwise(t)) for t in sentence_terms], self._bigram_vocab)
        caps = [capitalised(t) for t in texts]
        caps_incidence = incidence(caps, self._caps_vocab)
        self._caps_count = np.array([len(c) for c in caps], dtype=np.float32)
        self._has_number = np.array([has_number(t) for t in texts], dtype=bool)
        self._has_date = np.array([has_date(t) for t in texts], dtype=bool)
        n_paragraphs = len(paragraph_texts)
        to_paragraph = grouping(self.paragraph_of, n_paragraphs)
        paragraph_incidence = binary(to_paragraph @ sentence_incidence)
        story_of_paragraph = np.repeat(np.arange(len(data.stories)), paragraph_counts)
        story_incidence = binary(grouping(story_of_paragraph, len(data.stories)) @ paragraph_incidence)
        same_para_prev = np.zeros(self.size, dtype=bool)
        if self.size > 1:
            same_para_prev[1:] = self.paragraph_of[1:] == self.paragraph_of[:-1]
        self.has_prev = same_para_prev
        self.has_next = np.append(same_para_prev[1:], False) if self.size else same_para_prev
        window_incidence = binary(neighbourhood(self.has_prev, self.has_next) @ sentence_incidence)
        self.sentence_words = np.array([len(w) for w in sentence_word_lists], dtype=np.float32)
        self.bm25 = BM25Index(texts, text_terms=sentence_terms)
        self.paragraph_bm25 = BM25Index(paragraph_texts)
        self._max_idf = float(self.bm25.idf("\x00unseen")) or 1.0
        # Everything a question's terms are scored against, as (vocabulary × rows) side by side, so
        # one sparse product per batch does it all: BM25 of sentences and paragraphs (a question's
        # terms counted once each), then coverage of sentences, windows and paragraphs (idf-weighted).
        width = max(1, len(self._vocab))  # as wide as the incidence matrices, even with no terms at all
        self._lexical_t = sparse.hstack(
            [
                with_rows(self.bm25.term_scores(self._vocab), width),
                with_rows(self.paragraph_bm25.term_scores(self._vocab), width),
            ],
            format="csr",
            dtype=np.float32,
        )
        self._coverage_t = sparse.hstack(
            [sentence_incidence.T, window_incidence.T, paragraph_incidence.T], format="csr", dtype=np.float32
        )
        self._n_paragraphs = n_paragraphs
        self._bigrams_t = bigram_incidence.T.tocsr()
        self._caps_t = caps_incidence.T.tocsr()
        self._paragraph_terms = Entries(paragraph_incidence)  # which paragraph has which term
        self._story_terms = Entries(story_incidence)
        self._vectors = _vector_view(data.sentence_vectors)
        exact = index_kind(data.sentence_vectors) == "flat"
        self._dense_search = (
            DenseSearch(self._vectors, data.paragraph_vectors) if exact and self._vectors is not None else None
        )

    def sentence_text(self, i: int) -> str:
        story, para, start, end = (int(x) for x in self.data.sentences[i])
        return self.data.stories[story].paragraphs[para][start:end]

    def sentence_vectors(self, ids: np.ndarray) -> np.ndarray:
        if self._vectors is not None:
            picked: np.ndarray = self._vectors[ids]
            return picked
        return np.vstack([self.data.sentence_vectors.reconstruct(int(i)) for i in ids]).reshape(len(ids), -1)

    # -- candidates and their features ---------------------------------------------------

    def candidates(
        self, questions: Sequence[str], qvecs: np.ndarray, contexts: Sequence[str | None] | None = None
    ) -> CandidateBatch:
        """Every question's candidate sentences with their features, computed for the batch at once."""
        contexts = list(contexts) if contexts is not None else [None] * len(questions)
        queries = tuple(Query.of(q, c) for q, c in zip(questions, contexts))
        qvecs = np.ascontiguousarray(qvecs, dtype=np.float32).reshape(len(queries), -1)
        term_counts = [len(q.terms) for q in queries]
        all_terms = [t for q in queries for t in q.terms]
        term_columns = np.array([self._vocab.get(t, -1) for t in all_terms], dtype=np.int64)
        term_idf = np.array([self.bm25.idf(t) for t in all_terms], dtype=np.float32)
        term_offsets = np.cumsum([0, *term_counts])
        question_level = np.array(
            [[float(q.negated), np.log1p(len(q.terms))] for q in queries], dtype=np.float32
        ).reshape(-1, 2)
        step = max(1, BATCH_CELLS // max(1, self.size))
        parts = [
            self._candidates_slice(
                queries[i : i + step], qvecs[i : i + step], term_columns, term_idf, term_offsets[i : i + step + 1]
            )
            for i in range(0, len(queries), step)
        ]
        counts = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
        ids = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
        features = np.vstack([p[2] for p in parts]) if parts else np.zeros((0, len(RANK_FEATURES)), np.float32)
        return CandidateBatch(
            queries, np.cumsum([0, *counts]), ids, features, term_offsets, term_columns, term_idf, question_level
        )

    def _candidates_slice(
        self,
        queries: tuple[Query, ...],
        qvecs: np.ndarray,
        term_columns: np.ndarray,
        term_idf: np.ndarray,
        term_offsets: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = len(queries)
        if self.size == 0:
            return np.zeros(n, np.int64), np.zeros(0, np.int64), np.zeros((0, len(RANK_FEATURES)), np.float32)
        size, paragraphs = self.size, self._n_paragraphs
        columns = term_columns[term_offsets[0] : term_offsets[-1]]
        idf = term_idf[term_offsets[0] : term_offsets[-1]]
        term_owner = np.repeat(np.arange(n), np.diff(term_offsets))
        known = columns >= 0
        weighted = question_matrix(term_owner[known], columns[known], idf[known], n, len(self._vocab))
        asked = weighted.copy()
        asked.data[:] = 1.0
        lexical = (asked @ self._lexical_t).toarray()
        bm25_all, para_bm25_all = lexical[:, :size], lexical[:, size:]
        coverage = (weighted @ self._coverage_t).toarray()
        hits = self._dense_search.search(qvecs, CANDIDATES_PER_SIDE) if self._dense_search else None
        dense_all, dense_best = (hits.scores, hits.best) if hits else (None, None)
        qidx, ids = self._candidate_ids(qvecs, dense_best, bm25_all)
        para_ids = self.paragraph_of[ids]
        dense = self._dense(dense_all, qvecs, qidx, ids)
        neighbours = self._neighbour_dense(dense_all, qvecs, qidx, ids)
        dense_para = (hits.paragraph_scores if hits else qvecs @ self.data.paragraph_vectors.T)[qidx, para_ids]
        bm25 = bm25_all[qidx, ids]
        bm25_max = bm25_all.max(axis=1)[qidx]
        para_bm25 = para_bm25_all[qidx, para_ids]
        para_max = para_bm25_all.max(axis=1)[qidx] if paragraphs else np.zeros(len(ids), np.float32)
        idf_sum = np.bincount(term_owner, weights=idf, minlength=n).astype(np.float32)
        idf_sum = np.where(idf_sum > 0, idf_sum, 1.0)[qidx]
        cover_sent = coverage[qidx, ids] / idf_sum
        cover_window = coverage[qidx, size + ids] / idf_sum
        cover_para = coverage[qidx, 2 * size + para_ids] / idf_sum
        bigram = self._bigram_overlap(queries, qidx, ids)
        qtypes = np.array([int(q.qtype) for q in queries], np.int64)[qidx]
        type_match = self._type_match(queries, qtypes, qidx, ids)
        typed = (qtypes != QType.OTHER).astype(np.float32)
        features = np.column_stack(
            [
                dense,
                dense_para,
                neighbours,
                dense - segment_max(dense, qidx, n)[qidx],
                np.divide(bm25, bm25_max, out=np.zeros_like(bm25), where=bm25_max > 0),
                bm25 / idf_sum,
                np.divide(para_bm25, para_max, out=np.zeros_like(para_bm25), where=para_max > 0),
                cover_sent,
                cover_para,
                cover_window,
                bigram,
                type_match * typed,
                (1.0 - type_match) * typed,
                np.log1p(self.sentence_words[ids]),
                1.0 / (1.0 + segment_rank(dense, qidx)),
                1.0 / (1.0 + segment_rank(bm25, qidx)),
            ]
        ).astype(np.float32)
        return np.bincount(qidx, minlength=n), ids, features

    def _candidate_ids(
        self, qvecs: np.ndarray, dense_best: np.ndarray | None, bm25_all: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(question, sentence) pairs, by question then sentence: the dense and the BM25 best."""
        n = len(qvecs)
        if self.size <= 2 * CANDIDATES_PER_SIDE:
            return np.repeat(np.arange(n), self.size), np.tile(np.arange(self.size), n)
        k = CANDIDATES_PER_SIDE
        if dense_best is None:
            _, dense_best = self.data.sentence_vectors.search(qvecs, k)
        # One mark per (question, sentence) cell, flat; reading the marks out gives each chosen pair
        # once, by question then sentence, without sorting the pairs' keys (BATCH_CELLS keeps
        # the marks small).
        chosen = np.zeros(n * self.size, bool)
        found = dense_best >= 0  # an approximate index pads a short result with -1
        chosen[np.nonzero(found)[0] * self.size + dense_best[found]] = True
        lexical = np.nonzero(bm25_all.any(axis=1))[0]
        if len(lexical):
            best = np.argpartition(-bm25_all[lexical], k, axis=1)[:, :k]
            chosen[(lexical[:, None] * self.size + best).ravel()] = True
        qidx, ids = np.divmod(np.flatnonzero(chosen), self.size)
        return qidx, ids

    def _dense(self, dense_all: np.ndarray | None, qvecs: np.ndarray, qidx: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Cosine of question qidx[i] and sentence ids[i]: looked up after an exact scan, else computed."""
        if dense_all is not None:
            looked_up: np.ndarray = dense_all[qidx, ids]
            return looked_up
        return np.asarray(np.einsum("ij,ij->i", self.sentence_vectors(ids), qvecs[qidx]))

    def _neighbour_dense(
        self, dense_all: np.ndarray | None, qvecs: np.ndarray, qidx: np.ndarray, ids: np.ndarray
    ) -> np.ndarray:
        """The better of the two neighbours in the same paragraph (0 where there is none)."""
        out = np.zeros(len(ids), np.float32)
        prev, nxt = self.has_prev[ids], self.has_next[ids]
        if prev.any():
            out[prev] = self._dense(dense_all, qvecs, qidx[prev], ids[prev] - 1)
        if nxt.any():
            out[nxt] = np.maximum(out[nxt], self._dense(dense_all, qvecs, qidx[nxt], ids[nxt] + 1))
        return out

    def _bigram_overlap(self, queries: tuple[Query, ...], qidx: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Share of the question's term bigrams the sentence has too."""
        owners, columns = [], []
        for q, query in enumerate(queries):
            for bigram in query.bigrams:
                if (c := self._bigram_vocab.get(bigram, -1)) >= 0:
                    owners.append(q)
                    columns.append(c)
        counts = np.array([len(q.bigrams) for q in queries], np.float32)
        matrix = question_matrix(
            np.array(owners, np.int64), np.array(columns, np.int64), None, len(queries), len(self._bigram_vocab)
        )
        hits = gather(matrix @ self._bigrams_t, qidx, ids)
        shares: np.ndarray = np.divide(hits, counts[qidx], out=np.zeros_like(hits), where=counts[qidx] > 0)
        return shares

    def _type_match(
        self, queries: tuple[Query, ...], qtypes: np.ndarray, qidx: np.ndarray, ids: np.ndarray
    ) -> np.ndarray:
        """1 where the sentence holds the kind of thing the question asks for."""
        out = np.ones(len(ids), np.float32)
        number, date = qtypes == QType.NUMBER, qtypes == QType.DATE
        out[number] = self._has_number[ids[number]]
        out[date] = self._has_date[ids[date]]
        named = (qtypes == QType.PERSON) | (qtypes == QType.PLACE)
        if named.any():
            owners, columns = [], []
            for q, query in enumerate(queries):
                if query.qtype in (QType.PERSON, QType.PLACE):
                    for word in query.words:
                        if (c := self._caps_vocab.get(word, -1)) >= 0:
                            owners.append(q)
                            columns.append(c)
            matrix = question_matrix(
                np.array(owners, np.int64), np.array(columns, np.int64), None, len(queries), len(self._caps_vocab)
            )
            overlap = gather(matrix @ self._caps_t, qidx[named], ids[named])
            out[named] = self._caps_count[ids[named]] - overlap > 0
        return out

    # -- evidence for the confidence model -----------------------------------------------

    def evidence(self, batch: CandidateBatch, rows: np.ndarray) -> np.ndarray:
        """Per chosen row: the question's rare terms, names and numbers its paragraph lacks."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.zeros((len(rows), len(EVIDENCE)), np.float32)
        if len(rows) == 0:
            return out
        owner = batch.question_of[rows]
        ids = batch.ids[rows]
        paragraphs = self.paragraph_of[ids]
        stories = self.data.sentences[ids, 0].astype(np.int64)
        counts = np.diff(batch.term_offsets)[owner]
        pair_row = np.repeat(np.arange(len(rows)), counts)
        pair_term = (
            np.arange(counts.sum())
            - np.repeat(np.cumsum(counts) - counts, counts)
            + np.repeat(batch.term_offsets[owner], counts)
        )
        columns, idf = batch.term_columns[pair_term], batch.term_idf[pair_term]
        known = columns >= 0
        in_paragraph = np.zeros(len(pair_row), np.float32)
        in_story = np.zeros(len(pair_row), np.float32)
        in_paragraph[known] = self._paragraph_terms.contains(paragraphs[pair_row[known]], columns[known])
        in_story[known] = self._story_terms.contains(stories[pair_row[known]], columns[known])
        missing = (1.0 - in_paragraph) * idf
        most_missing = np.zeros(len(rows), np.float32)
        np.maximum.at(most_missing, pair_row, missing)
        idf_sum = np.bincount(pair_row, weights=idf, minlength=len(rows))
        out[:, 0] = most_missing / self._max_idf
        out[:, 1] = np.bincount(pair_row, weights=missing > 0.5 * self._max_idf, minlength=len(rows))
        out[:, 2] = np.bincount(pair_row, weights=(1.0 - in_story) * idf, minlength=len(rows)) / np.where(
            idf_sum > 0, idf_sum, 1.0
        )
        for row, (q, paragraph) in enumerate(zip(owner, paragraphs)):
            query, text = batch.queries[q], self.paragraph_folded[int(paragraph)]
            if query.entities:
                out[row, 3] = sum(1 for e in query.entities if e not in text) / len(query.entities)
            if query.numbers:
                out[row, 4] = sum(1 for n in query.numbers if n not in text) / len(query.numbers)
        return out


def _vector_view(index: object) -> np.ndarray | None:
    """The stored vectors as a numpy view (no copy): a flat index's own, or HNSW's flat storage."""
    import faiss

    if isinstance(index, faiss.IndexHNSWFlat):
        index = faiss.downcast_index(index.storage)
    if isinstance(index, faiss.IndexFlat) and index.ntotal:
        return faiss.rev_swig_ptr(index.get_xb(), index.ntotal * index.d).reshape(index.ntotal, index.d)
    if isinstance(index, faiss.IndexFlat):
        return np.zeros((0, index.d), np.float32)
    return None
