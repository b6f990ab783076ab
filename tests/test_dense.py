"""Exact dense search: ONNX Runtime's product and TopK agree with numpy's."""

from __future__ import annotations

import numpy as np
import pytest

from index.dense import DenseSearch


def unit_rows(rng: np.random.Generator, n: int, d: int = 384) -> np.ndarray:
    rows = rng.standard_normal((n, d)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.mark.parametrize(("sentences", "questions", "k"), [(5000, 64, 100), (5000, 1, 100), (40, 3, 100), (1, 1, 5)])
def test_scores_and_best_match_numpy(sentences: int, questions: int, k: int) -> None:
    rng = np.random.default_rng(sentences + questions)
    vectors, asked = unit_rows(rng, sentences), unit_rows(rng, questions)
    search = DenseSearch(vectors)
    assert search._session is not None, "ONNX Runtime should take the product"
    scores, best = search.scores_and_best(asked, k)
    expected = asked @ vectors.T
    assert scores.shape == expected.shape and np.abs(scores - expected).max() < 1e-5
    k = min(k, sentences)
    assert best.shape == (questions, k)
    for row in range(questions):
        top = np.sort(expected[row])[::-1][:k]
        assert np.allclose(np.sort(expected[row, best[row]])[::-1], top, atol=1e-5)  # the k best, ties aside


def test_numpy_fallback_gives_the_same_best() -> None:
    rng = np.random.default_rng(3)
    vectors, asked = unit_rows(rng, 2000), unit_rows(rng, 8)
    fast = DenseSearch(vectors)
    plain = DenseSearch(vectors)
    plain._session = None
    fast_scores, fast_best = fast.scores_and_best(asked, 50)
    plain_scores, plain_best = plain.scores_and_best(asked, 50)
    assert np.abs(fast_scores - plain_scores).max() < 1e-5
    assert [set(row) for row in fast_best.tolist()] == [set(row) for row in plain_best.tolist()]


def test_an_empty_index_scores_nothing() -> None:
    search = DenseSearch(np.zeros((0, 384), np.float32))
    scores, best = search.scores_and_best(np.ones((2, 384), np.float32), 100)
    assert scores.shape == (2, 0) and best.shape == (2, 0)
