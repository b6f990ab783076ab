"""Building an index: corpus → sentences → vectors → a new generation, published atomically."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from index.config import EngineConfig
from index.corpus.sentences import SPLITTER_VERSION, split_sentences
from index.corpus.stories import Corpus, load_corpus
from index.embedding.embedder import Embedder
from index.store.embedding_cache import EmbeddingCache
from index.store.generations import (
    BuildLock,
    IndexData,
    StoredStory,
    clean_leftovers,
    load_generation,
    new_build_dir,
    publish,
    write_generation,
)
from index.store.vectors import build_vector_index, index_kind

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BuildReport:
    stories: int
    paragraphs: int
    sentences: int
    seconds: float
    path: Path
    embedded: int  # texts actually run through the model (the rest came from the cache)
    corpus_hash: str


@dataclass(slots=True)
class Prepared:
    """A corpus cut into what gets embedded, before any vector exists."""

    stories: list[StoredStory]
    sentences: np.ndarray
    sentence_texts: list[str]
    paragraph_texts: list[str]


def prepare(corpus: Corpus) -> Prepared:
    rows: list[tuple[int, int, int, int]] = []
    sentence_texts: list[str] = []
    paragraph_texts: list[str] = []
    stories: list[StoredStory] = []
    for s, story in enumerate(corpus.stories):
        stories.append(StoredStory(story.title, story.file, story.paragraphs, story.source, story.date, story.author))
        for p, text in enumerate(story.paragraphs):
            paragraph_texts.append(text)
            for start, end in split_sentences(text):
                rows.append((s, p, start, end))
                sentence_texts.append(text[start:end])
    sentences = np.array(rows, dtype=np.int32).reshape(-1, 4)
    return Prepared(stories, sentences, sentence_texts, paragraph_texts)


def build_in_memory(
    corpus: Corpus, embedder: Embedder, *, progress: bool = False, batch_size: int = 64, kind: str | None = None
) -> IndexData:
    """An index that lives only in memory (evaluation, tests); the same data a build writes."""
    prepared = prepare(corpus)
    sentence_vectors, paragraph_vectors = _embed(prepared, embedder, progress=progress, batch_size=batch_size)
    vector_index = build_vector_index(sentence_vectors, kind)
    manifest = _manifest(corpus, prepared, embedder, index_kind(vector_index))
    return IndexData(
        manifest, tuple(prepared.stories), prepared.sentences, vector_index, paragraph_vectors, Path("<memory>")
    )


def _embed(prepared: Prepared, embedder: Embedder, *, progress: bool, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    texts = prepared.sentence_texts + prepared.paragraph_texts
    vectors = embedder.embed(texts, batch_size=batch_size, progress=progress)
    n = len(prepared.sentence_texts)
    return vectors[:n], vectors[n:]


def _embed_cached(
    prepared: Prepared, embedder: Embedder, cache: EmbeddingCache, *, progress: bool, batch_size: int
) -> tuple[np.ndarray, np.ndarray, int]:
    texts = prepared.sentence_texts + prepared.paragraph_texts
    vectors, embedded = cache.embed(texts, embedder, batch_size=batch_size, progress=progress)
    n = len(prepared.sentence_texts)
    return vectors[:n], vectors[n:], embedded


def _manifest(corpus: Corpus, prepared: Prepared, embedder: Embedder, kind: str) -> dict[str, object]:
    return {
        "model": embedder.model_id,
        "dimension": embedder.dimension,
        "corpus_hash": corpus.content_hash,
        "splitter": SPLITTER_VERSION,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "stories": len(prepared.stories),
        "paragraphs": len(prepared.paragraph_texts),
        "sentences": len(prepared.sentence_texts),
        "index_kind": kind,
    }


def build_index(
    config: EngineConfig, embedder: Embedder, *, progress: bool = False, kind: str | None = None
) -> BuildReport:
    """Build the corpus into a new generation and switch to it; the old one serves until then."""
    started = time.perf_counter()
    corpus = load_corpus(config.corpus_dir, own_dir=config.own_stories_dir)
    with BuildLock(config.index_dir):
        clean_leftovers(config.index_dir)
        prepared = prepare(corpus)
        log.info(
            "Building the index: %d stories, %d paragraphs, %d sentences",
            len(prepared.stories),
            len(prepared.paragraph_texts),
            len(prepared.sentence_texts),
        )
        seeds = [config.shared_index_dir] if config.shared_index_dir is not None else []
        cache = EmbeddingCache(config.index_dir, embedder.model_id, embedder.dimension, seed_dirs=seeds)
        sentence_vectors, paragraph_vectors, embedded = _embed_cached(
            prepared, embedder, cache, progress=progress, batch_size=config.batch_size
        )
        log.info(
            "Embedded %d new texts; %d came from the cache",
            embedded,
            len(sentence_vectors) + len(paragraph_vectors) - embedded,
        )
        vector_index = build_vector_index(sentence_vectors, kind)
        build_dir = new_build_dir(config.index_dir)
        try:
            write_generation(
                build_dir,
                manifest=_manifest(corpus, prepared, embedder, index_kind(vector_index)),
                stories=prepared.stories,
                sentences=prepared.sentences,
                sentence_index=vector_index,
                paragraph_vectors=paragraph_vectors,
            )
            load_generation(build_dir)  # never publish what would not load
            final = publish(config.index_dir, build_dir)
            cache.save()
        except BaseException:
            import shutil

            shutil.rmtree(build_dir, ignore_errors=True)
            raise
        clean_leftovers(config.index_dir)
    seconds = time.perf_counter() - started
    return BuildReport(
        stories=len(prepared.stories),
        paragraphs=len(prepared.paragraph_texts),
        sentences=len(prepared.sentence_texts),
        seconds=seconds,
        path=final,
        embedded=embedded,
        corpus_hash=corpus.content_hash,
    )
