"""The vector index: exact inner-product search while it is fast, HNSW beyond that size."""

from __future__ import annotations

from typing import Any

import numpy as np

EXACT_LIMIT = 50_000
"""Above this many vectors a flat scan costs more than a few ms a query on 2 cores."""
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128


def choose_kind(count: int, forced: str | None = None) -> str:
    if forced in ("flat", "hnsw"):
        return forced
    return "flat" if count <= EXACT_LIMIT else "hnsw"


def build_vector_index(vectors: np.ndarray, kind: str | None = None) -> Any:
    """A FAISS index over unit vectors, scored by inner product (= cosine)."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dimension = vectors.shape[1]
    chosen = choose_kind(len(vectors), kind)
    index: faiss.Index
    if chosen == "flat":
        index = faiss.IndexFlatIP(dimension)
    else:
        hnsw = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        hnsw.hnsw.efSearch = HNSW_EF_SEARCH
        index = hnsw
    if len(vectors):
        index.add(vectors)
    return index


def index_kind(index: Any) -> str:
    import faiss

    if isinstance(index, faiss.IndexHNSWFlat):
        return "hnsw"
    return "flat"


def prepare_for_search(index: Any) -> None:
    """Settings that are not saved with the index (HNSW's search breadth)."""
    import faiss

    if isinstance(index, faiss.IndexHNSWFlat):
        index.hnsw.efSearch = HNSW_EF_SEARCH


def all_vectors(index: Any) -> np.ndarray:
    """The stored vectors back (flat and HNSW-flat both keep them exactly)."""
    import faiss

    if index.ntotal == 0:
        return np.zeros((0, index.d), dtype=np.float32)
    if isinstance(index, faiss.IndexHNSWFlat):
        storage: Any = faiss.downcast_index(index.storage)
        stored = faiss.rev_swig_ptr(storage.get_xb(), index.ntotal * index.d)
        return np.array(stored, dtype=np.float32).reshape(index.ntotal, index.d)
    return np.asarray(index.reconstruct_n(0, index.ntotal), dtype=np.float32)
