"""Sparse-matrix building blocks of batched retrieval: every feature is a few products of these."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TypeVar

import numpy as np
from scipy import sparse

Item = TypeVar("Item", bound=Hashable)


def incidence(rows: list[set[Item]], vocab: dict[Item, int]) -> sparse.csc_matrix:
    """A binary (rows × vocabulary) matrix, growing `vocab` as it meets new items."""
    indptr: list[int] = [0]
    indices: list[int] = []
    for items in rows:
        indices.extend(vocab.setdefault(item, len(vocab)) for item in items)
        indptr.append(len(indices))
    data = np.ones(len(indices), np.float32)
    return sparse.csr_matrix((data, indices, indptr), shape=(len(rows), max(1, len(vocab)))).tocsc()


def binary(matrix: sparse.spmatrix) -> sparse.csr_matrix:
    out = sparse.csr_matrix(matrix)
    out.sum_duplicates()
    out.data[:] = 1.0
    return out


def with_rows(matrix: sparse.csr_matrix, rows: int) -> sparse.csr_matrix:
    """The same matrix with empty rows added at the bottom up to `rows`."""
    indptr = np.concatenate([matrix.indptr, np.full(rows - matrix.shape[0], matrix.indptr[-1])])
    return sparse.csr_matrix((matrix.data, matrix.indices, indptr), shape=(rows, matrix.shape[1]))


def grouping(group_of: np.ndarray, groups: int) -> sparse.csr_matrix:
    """(groups × members) 0/1 matrix: multiplying by it unions members' rows into their group's."""
    members = len(group_of)
    return sparse.csr_matrix((np.ones(members, np.float32), (group_of, np.arange(members))), shape=(groups, members))


def neighbourhood(has_prev: np.ndarray, has_next: np.ndarray) -> sparse.csr_matrix:
    """(sentences × sentences): each sentence with its neighbours in the same paragraph."""
    n = len(has_prev)
    own = np.arange(n)
    rows = np.concatenate([own, own[has_prev], own[has_next]])
    cols = np.concatenate([own, own[has_prev] - 1, own[has_next] + 1])
    return sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n, n))


def question_matrix(
    owners: np.ndarray, columns: np.ndarray, weights: np.ndarray | None, questions: int, width: int
) -> sparse.csr_matrix:
    """(questions × width) with weights[i] at (owners[i], columns[i]); owners ascending, no repeats."""
    data = np.ones(len(owners), np.float32) if weights is None else weights.astype(np.float32)
    indptr = np.searchsorted(owners, np.arange(questions + 1), side="left")
    return sparse.csr_matrix(
        (data, columns.astype(np.int32), indptr.astype(np.int32)), shape=(questions, max(1, width))
    )


def gather(matrix: sparse.spmatrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """matrix[rows[i], cols[i]] for every i, as float32, from a (questions × rows) product.

    Densified first: such a product is small (BATCH_CELLS bounds it) and a dense gather is far
    cheaper than sampling thousands of entries out of long sparse rows.
    """
    return np.asarray(matrix.toarray()[rows, cols], dtype=np.float32)


class Entries:
    """The stored (row, column) positions of a sparse matrix, for fast membership tests."""

    def __init__(self, matrix: sparse.csr_matrix) -> None:
        matrix = sparse.csr_matrix(matrix)
        matrix.sort_indices()
        self._width = int(matrix.shape[1])
        rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
        self._keys = rows * self._width + matrix.indices

    def contains(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        keys = rows.astype(np.int64) * self._width + cols
        at = np.searchsorted(self._keys, keys)
        found = np.zeros(len(keys), bool)
        inside = at < len(self._keys)
        found[inside] = self._keys[at[inside]] == keys[inside]
        return found


def segment_max(values: np.ndarray, segment: np.ndarray, segments: int) -> np.ndarray:
    out = np.full(segments, -np.inf, values.dtype)
    np.maximum.at(out, segment, values)
    return out


def segment_rank(values: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """0 for the highest value of each segment, 1 for the next, ...; ties in row order.

    One stable sort of a combined key (segment first, then falling value) instead of a lexsort;
    the key stays exact in float64 for any realistic number of segments.
    """
    if len(values) == 0:
        return np.zeros(0, np.float32)
    v = values.astype(np.float64)
    low, span = float(v.min()), float(v.max() - v.min()) + 1.0
    order = np.argsort(segment * span + (span - 1.0 - (v - low)), kind="stable")
    first_of_segment = np.searchsorted(segment[order], segment[order], side="left")
    rank = np.empty(len(values), np.float32)
    rank[order] = np.arange(len(values)) - first_of_segment
    return rank
