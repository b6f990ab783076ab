"""The second stage's pure steps: which rows the reranker rereads, its inputs, the final order."""

from __future__ import annotations

import numpy as np

from index.retrieval.features import cross_evidence, ranked_rows
from index.retrieval.rerank import BELOW, RERANK_FEATURES, final_scores, rerank_features, reread_rows


def test_each_questions_best_rows_are_reread_and_no_more_than_it_has() -> None:
    scores = np.array([0.1, 0.9, 0.5, 2.0, 1.0], np.float32)  # question 0: rows 0-2, question 1: rows 3-4
    offsets = np.array([0, 3, 5])
    ranked = ranked_rows(scores, offsets)
    assert reread_rows(ranked, offsets, 2).tolist() == [1, 2, 3, 4]
    assert reread_rows(ranked, offsets, 5).tolist() == [1, 2, 0, 3, 4]


def test_rerank_features_are_gaps_to_each_questions_best() -> None:
    scores = np.array([0.1, 0.9, 0.5, 2.0, 1.0], np.float32)
    rows = np.array([1, 2, 3, 4])
    owner = np.array([0, 0, 1, 1])
    cross = np.array([-1.0, 3.0, 0.5, 0.0], np.float32)
    x = rerank_features(scores, cross, rows, owner)
    assert x.shape == (4, len(RERANK_FEATURES))
    np.testing.assert_allclose(x[:, 0], [0.9, 0.5, 2.0, 1.0])
    np.testing.assert_allclose(x[:, 1], [0.0, -0.4, 0.0, -1.0], atol=1e-6)
    np.testing.assert_allclose(x[:, 3], [-4.0, 0.0, 0.0, -0.5])
    np.testing.assert_allclose(x[:, 4], [1.0, 0.5, 1.0, 0.5])


def test_reread_rows_rank_above_the_rest_which_keep_their_order() -> None:
    scores = np.array([0.1, 0.9, 0.5, 0.3], np.float32)
    out = final_scores(scores, np.array([1, 2]), np.array([-3.0, 4.0], np.float32))
    assert out[2] > out[1] > out[3] > out[0]
    assert out[3] == np.float32(0.3 - BELOW)


def test_cross_evidence_takes_the_chosen_row_and_the_best_reread() -> None:
    cross = np.array([np.nan, 2.0, -1.0, 0.5, np.nan], np.float32)
    out = cross_evidence(cross, np.array([2, 3, -1]), np.array([0, 3, 5, 5]))
    np.testing.assert_allclose(out, [[-1.0, 2.0], [0.5, 0.5], [0.0, 0.0]])
