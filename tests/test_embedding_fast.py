"""The direct embedding path gives exactly what `encode` gives, and falls back to it when it would not."""

from __future__ import annotations

import gc
from collections.abc import Sequence

import numpy as np
import pytest

from index.embedding.embedder import SentenceTransformerEmbedder, _gc_paused

TEXTS = [
    "How many people did the NYPD lock up in 2016?",
    "",
    "No.",
    "Ünïcödé — “quotes”, emoji 🚓 and 漢字 all tokenize.",
    "word " * 400,  # longer than the model's 256-token limit: truncated the same way
    "The mayor said the statement was an insult to the officers who keep the city safe.",
]


def _encode(embedder: SentenceTransformerEmbedder, texts: Sequence[str]) -> np.ndarray:
    return embedder._model.encode(
        list(texts), batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )


def test_the_bundled_model_takes_the_direct_path(embedder: SentenceTransformerEmbedder) -> None:
    assert embedder._direct


@pytest.mark.parametrize("batch_size", [1, 4, 64])
def test_direct_vectors_equal_encode_vectors(embedder: SentenceTransformerEmbedder, batch_size: int) -> None:
    got = embedder.embed(TEXTS, batch_size=batch_size)
    np.testing.assert_allclose(got, _encode(embedder, TEXTS), rtol=0, atol=1e-5)


@pytest.mark.model  # a model of its own, not the session fixture
def test_a_default_prompt_and_truncation_are_applied_as_encode_applies_them() -> None:
    embedder = SentenceTransformerEmbedder()
    plain = embedder._forward(TEXTS)
    embedder._model.prompts = {"query": "query: "}
    embedder._model.default_prompt_name = "query"
    embedder._model.truncate_dim = 128
    assert embedder._choose_direct_path()
    assert embedder._prompt == "query: "
    got = embedder._forward(TEXTS)
    assert got.shape == (len(TEXTS), 128)
    np.testing.assert_allclose(got, _encode(embedder, TEXTS), rtol=0, atol=1e-5)
    assert not np.allclose(got, plain[:, :128] / np.linalg.norm(plain[:, :128], axis=1, keepdims=True), atol=1e-3)


def test_falls_back_to_encode_when_the_direct_path_differs_or_fails(
    embedder: SentenceTransformerEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        embedder, "_forward", lambda texts: np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    )
    assert not embedder._choose_direct_path()

    def broken(texts: Sequence[str]) -> np.ndarray:
        raise TypeError("preprocess() got an unexpected keyword argument 'prompt'")

    monkeypatch.setattr(embedder, "_forward", broken)
    assert not embedder._choose_direct_path()
    monkeypatch.setattr(embedder, "_direct", False)
    np.testing.assert_allclose(embedder.embed(TEXTS[:2]), _encode(embedder, TEXTS[:2]), rtol=0, atol=1e-6)


def test_loading_leaves_the_collector_as_it_found_it(embedder: SentenceTransformerEmbedder) -> None:
    assert gc.isenabled()
    frozen = gc.get_freeze_count()  # an engine freezes what it loaded; loading a model does not
    gc.disable()
    try:
        with _gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
    with _gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled() and gc.get_freeze_count() == frozen
