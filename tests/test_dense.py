"""Exact dense search: ONNX Runtime's products and TopK agree with numpy's."""

from __future__ import annotations

import numpy as np
import pytest

from index.retrieval.dense import DenseSearch


def unit_rows(rng: np.random.Generator, n: int, d: int = 384) -> np.ndarray:
    rows = rng.standard_normal((n, d)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.mark.parametrize(("sentences", "questions", "k"), [(5000, 64, 100), (5000, 1, 100), (40, 3, 100), (1, 1, 5)])
def test_search_matches_numpy(sentences: int, questions: int, k: int) -> None:
    rng = np.random.default_rng(sentences + questions)
    vectors, paragraphs, asked = (
        unit_rows(rng, sentences),
        unit_rows(rng, max(1, sentences // 5)),
        unit_rows(rng, questions),
    )
    search = DenseSearch(vectors, paragraphs)
    assert search._session is not None, "ONNX Runtime should take the products"
    scores, best, paragraph_scores = search.search(asked, k)
    expected = asked @ vectors.T
    assert scores.shape == expected.shape and np.abs(scores - expected).max() < 1e-5
    assert paragraph_scores.shape == (questions, len(paragraphs))
    assert np.abs(paragraph_scores - asked @ paragraphs.T).max() < 1e-5
    k = min(k, sentences)
    assert best.shape == (questions, k)
    for row in range(questions):
        top = np.sort(expected[row])[::-1][:k]
        assert np.allclose(np.sort(expected[row, best[row]])[::-1], top, atol=1e-5)  # the k best, ties aside


def test_numpy_fallback_gives_the_same_results() -> None:
    rng = np.random.default_rng(3)
    vectors, paragraphs, asked = unit_rows(rng, 2000), unit_rows(rng, 300), unit_rows(rng, 8)
    fast = DenseSearch(vectors, paragraphs)
    plain = DenseSearch(vectors, paragraphs)
    plain._session = None
    fast_hits, plain_hits = fast.search(asked, 50), plain.search(asked, 50)
    assert np.abs(fast_hits.scores - plain_hits.scores).max() < 1e-5
    assert np.abs(fast_hits.paragraph_scores - plain_hits.paragraph_scores).max() < 1e-5
    assert [set(row) for row in fast_hits.best.tolist()] == [set(row) for row in plain_hits.best.tolist()]


def test_without_paragraphs_they_score_nothing() -> None:
    rng = np.random.default_rng(4)
    hits = DenseSearch(unit_rows(rng, 30)).search(unit_rows(rng, 2), 5)
    assert hits.scores.shape == (2, 30) and hits.best.shape == (2, 5) and hits.paragraph_scores.shape == (2, 0)


def test_an_empty_index_scores_nothing() -> None:
    search = DenseSearch(np.zeros((0, 384), np.float32), np.zeros((0, 384), np.float32))
    scores, best, paragraph_scores = search.search(np.ones((2, 384), np.float32), 100)
    assert scores.shape == (2, 0) and best.shape == (2, 0) and paragraph_scores.shape == (2, 0)
