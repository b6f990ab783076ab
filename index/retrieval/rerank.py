"""The second stage of ranking: each question's few best candidates, reread by the cross-encoder.

Pure numpy: which rows to reread, the second-stage inputs (the first stage's score beside the
cross-encoder's), and the final scores, in which every reread row ranks above the rest of its
question's candidates (those keep their first-stage order).
"""

from __future__ import annotations

import numpy as np

RERANK_FEATURES = ("first_stage", "first_gap", "cross", "cross_gap", "first_rr")
BELOW = 1000.0
"""How far rows that were not reread are put below those that were."""


def reread_rows(ranked: np.ndarray, offsets: np.ndarray, n: int) -> np.ndarray:
    """The rows of each question's n best candidates (`ranked` from `features.ranked_rows`)."""
    sizes = np.diff(offsets)
    keep = np.minimum(sizes, n)
    position = np.arange(len(ranked)) - np.repeat(offsets[:-1], sizes)
    rows: np.ndarray = ranked[position < np.repeat(keep, sizes)]
    return rows


def rerank_features(scores: np.ndarray, cross: np.ndarray, rows: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Per reread row: its first-stage score, the cross-encoder's logit, each also as the gap to
    the question's best, and the reciprocal of its first-stage rank among the reread rows.

    `owner[i]` is the question of `rows[i]`; rows come grouped by question, best first.
    """
    n_questions = int(owner.max()) + 1 if len(owner) else 0
    first = scores[rows]
    best_first = np.full(n_questions, -np.inf, np.float32)
    best_cross = np.full(n_questions, -np.inf, np.float32)
    np.maximum.at(best_first, owner, first)
    np.maximum.at(best_cross, owner, cross)
    starts = np.searchsorted(owner, np.arange(n_questions))
    rank = np.arange(len(rows)) - starts[owner]
    return np.column_stack(
        [first, first - best_first[owner], cross, cross - best_cross[owner], 1.0 / (1.0 + rank)]
    ).astype(np.float32)


def final_scores(scores: np.ndarray, rows: np.ndarray, reranked: np.ndarray) -> np.ndarray:
    """First-stage scores moved far below, with the reread rows' second-stage scores put back."""
    out = (scores - BELOW).astype(np.float32)
    out[rows] = reranked
    return out
