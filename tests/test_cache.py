"""The embedding cache: a rebuild embeds only new text, and removed stories drop out."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index import EngineConfig, build_index
from index.store.embedding_cache import EmbeddingCache
from index.store.generations import load_generation
from tests.doubles import HashEmbedder
from tests.helpers import write_story


def config_for(corpus: Path, tmp_path: Path) -> EngineConfig:
    return EngineConfig(corpus_dir=corpus, index_dir=tmp_path / "index")


def distinct_texts(config: EngineConfig) -> int:
    """A one-sentence paragraph is the same text as its sentence: embedded once."""
    from index.corpus.stories import load_corpus
    from index.store.build import prepare

    prepared = prepare(load_corpus(config.corpus_dir))
    return len(set(prepared.sentence_texts + prepared.paragraph_texts))


def test_unchanged_corpus_embeds_nothing_and_one_new_story_embeds_only_itself(
    small_corpus: Path, tmp_path: Path
) -> None:
    config = config_for(small_corpus, tmp_path)
    first = build_index(config, HashEmbedder())
    assert first.embedded == distinct_texts(config)
    again = HashEmbedder()
    assert build_index(config, again).embedded == 0
    assert again.texts_embedded == 0
    write_story(small_corpus, "bridge.txt", "The bridge closes in May.\nRepairs cost $4 million.\n", title="Bridge")
    added = HashEmbedder()
    report = build_index(config, added)
    assert report.embedded == added.texts_embedded == 2  # each paragraph is one sentence


def test_cached_vectors_equal_fresh_ones(small_corpus: Path, tmp_path: Path) -> None:
    config = config_for(small_corpus, tmp_path)
    build_index(config, HashEmbedder())
    cached = load_generation(build_index(config, HashEmbedder()).path)
    fresh = load_generation(build_index(config_for(small_corpus, tmp_path / "other"), HashEmbedder()).path)
    np.testing.assert_array_equal(cached.paragraph_vectors, fresh.paragraph_vectors)
    np.testing.assert_array_equal(
        cached.sentence_vectors.reconstruct_n(0, 3), fresh.sentence_vectors.reconstruct_n(0, 3)
    )


def test_removed_story_leaves_index_and_cache(small_corpus: Path, tmp_path: Path) -> None:
    config = config_for(small_corpus, tmp_path)
    build_index(config, HashEmbedder())
    embedder = HashEmbedder()
    before = len(EmbeddingCache(config.index_dir, embedder.model_id, embedder.dimension))
    (small_corpus / "school.md").unlink()
    report = build_index(config, embedder)
    data = load_generation(report.path)
    assert [s.file for s in data.stories] == ["harbour.txt"]
    after = EmbeddingCache(config.index_dir, embedder.model_id, embedder.dimension)
    assert len(after) == distinct_texts(config) < before


def test_damaged_cache_is_ignored_not_trusted(small_corpus: Path, tmp_path: Path) -> None:
    config = config_for(small_corpus, tmp_path)
    build_index(config, HashEmbedder())
    embedder = HashEmbedder()
    cache = EmbeddingCache(config.index_dir, embedder.model_id, embedder.dimension)
    cache.vectors_path.write_bytes(b"not an array")
    assert build_index(config, embedder).embedded == distinct_texts(config)


def test_another_model_has_its_own_cache(small_corpus: Path, tmp_path: Path) -> None:
    config = config_for(small_corpus, tmp_path)
    build_index(config, HashEmbedder())
    other = HashEmbedder()
    other.model_id = "test/other"
    assert build_index(config, other).embedded == distinct_texts(config)
