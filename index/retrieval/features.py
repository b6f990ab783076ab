"""The names of the scorer's inputs and the pure steps from candidate scores to a confidence.

The retriever computes the features in this order and the scorer's weights are keyed by these
names, so both read them from here.
"""

from __future__ import annotations

import numpy as np

RANK_FEATURES = (
    "dense_sent",
    "dense_para",
    "dense_neighbours",
    "dense_gap",
    "bm25_rel",
    "bm25_abs",
    "bm25_para_rel",
    "cover_sent",
    "cover_para",
    "cover_window",
    "bigram_sent",
    "type_match",
    "type_missing",
    "log_words",
    "dense_rr",
    "bm25_rr",
)
EVIDENCE = ("missing_para", "missing_para_count", "missing_story", "missing_entity", "missing_number")
CONFIDENCE_FEATURES = (
    "top_score",
    "margin",
    "dense_sent",
    "dense_para",
    "cover_sent",
    "cover_para",
    "cover_window",
    "bm25_abs",
    "type_missing",
    *EVIDENCE,
    "negated",
    "log_terms",
)
RERANKED_CONFIDENCE_FEATURES = (*CONFIDENCE_FEATURES, "cross_top", "cross_best")
"""With the reranker: also the cross-encoder's logit for the chosen sentence and its best logit for
any candidate (trained on SQuAD 2.0's unanswerable questions too, it is low when none answers)."""


def ranked_rows(scores: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """All rows, question by question, each question's best first (ties in row order)."""
    n = len(offsets) - 1
    return np.lexsort((-scores, np.repeat(np.arange(n), np.diff(offsets))))


def best_rows(
    scores: np.ndarray, offsets: np.ndarray, ranked: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per question: the row of its best candidate (the first among ties; -1 if it has none)
    and the runner-up's score (5 below the best when there is no runner-up).

    `ranked`: `ranked_rows(scores, offsets)`, when the caller has it already."""
    n = len(offsets) - 1
    top = np.full(n, -1, np.int64)
    second = np.zeros(n, np.float32)
    sizes = np.diff(offsets)
    if len(scores) == 0:
        return top, second
    order = ranked if ranked is not None else ranked_rows(scores, offsets)
    starts = offsets[:-1]
    some, several = sizes > 0, sizes > 1
    top[some] = order[starts[some]]
    second[some] = scores[top[some]] - 5.0
    second[several] = scores[order[starts[several] + 1]]
    return top, second


def confidence_features(
    features: np.ndarray,
    scores: np.ndarray,
    top: np.ndarray,
    second: np.ndarray,
    top_evidence: np.ndarray,
    question_level: np.ndarray,
) -> np.ndarray:
    """Pure: the confidence model's inputs per question (zeros for a question with no candidate)."""
    out = np.zeros((len(top), len(CONFIDENCE_FEATURES)), np.float32)
    some = top >= 0
    if not some.any():
        return out
    name = RANK_FEATURES.index
    picked = [
        name(n)
        for n in ("dense_sent", "dense_para", "cover_sent", "cover_para", "cover_window", "bm25_abs", "type_missing")
    ]
    best = top[some]
    out[some] = np.column_stack(
        [
            scores[best],
            scores[best] - second[some],
            features[best][:, picked],
            top_evidence[some],
            question_level[some],
        ]
    )
    return out


def cross_evidence(cross: np.ndarray, top: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Pure: per question, the cross-encoder's logit for the chosen row and its best over the reread
    rows (`cross` is NaN for rows not reread; zeros for a question with no candidate)."""
    out = np.zeros((len(top), 2), np.float32)
    for q, row in enumerate(top):
        if row < 0:
            continue
        reread = cross[offsets[q] : offsets[q + 1]]
        reread = reread[~np.isnan(reread)]
        out[q] = (cross[row], reread.max() if len(reread) else cross[row])
    return out
