"""The automatic choice of vector index: exact while small, HNSW beyond, same answers."""

from __future__ import annotations

import numpy as np
import pytest

from index import Corpus, Engine, Story
from index.store.vectors import EXACT_LIMIT, all_vectors, build_vector_index, choose_kind, index_kind
from tests.doubles import HashEmbedder


def unit_vectors(n: int, d: int = 32, seed: int = 1) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize(
    ("count", "kind"), [(0, "flat"), (10, "flat"), (EXACT_LIMIT, "flat"), (EXACT_LIMIT + 1, "hnsw")]
)
def test_choice_follows_size(count: int, kind: str) -> None:
    assert choose_kind(count) == kind


def test_forced_kind_wins() -> None:
    assert choose_kind(10, "hnsw") == "hnsw"
    assert choose_kind(10**6, "flat") == "flat"


def test_hnsw_finds_what_exact_search_finds() -> None:
    vectors = unit_vectors(3000)
    flat, hnsw = build_vector_index(vectors, "flat"), build_vector_index(vectors, "hnsw")
    assert (index_kind(flat), index_kind(hnsw)) == ("flat", "hnsw")
    queries = unit_vectors(100, seed=2)
    _, exact = flat.search(queries, 10)
    _, approx = hnsw.search(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, approx)])
    assert recall >= 0.95
    np.testing.assert_array_equal(all_vectors(hnsw), all_vectors(flat))


def test_engine_answers_the_same_over_either_index() -> None:
    paragraphs = tuple(
        f"Story line {i} says the council voted {i} times on the budget of district {i}." for i in range(300)
    )
    corpus = Corpus((Story("Council", "council.txt", paragraphs),))
    flat = Engine.from_corpus(corpus, HashEmbedder(), kind="flat")
    hnsw = Engine.from_corpus(corpus, HashEmbedder(), kind="hnsw")
    assert flat.info(check_stale=False).index_kind == "flat" and hnsw.info(check_stale=False).index_kind == "hnsw"
    for question in ["How many times did district 17 vote?", "What did story line 250 say?"]:
        a, b = flat.answer(question), hnsw.answer(question)
        assert [(q.paragraph, q.start) for q in a.quotes][:1] == [(q.paragraph, q.start) for q in b.quotes][:1]
