"""Shared fixtures: a clean environment, the real model loaded once, the bundled corpus indexed once."""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from index import Engine, EngineConfig, build_index
from index.embedding.embedder import Embedder, SentenceTransformerEmbedder

REPO = Path(__file__).resolve().parent.parent
BUNDLED_CORPUS = REPO / "corpus"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MODEL_CACHE = Path(tempfile.mkdtemp(prefix="storybot-test-models-"))
"""One model cache for the whole run, so storybot processes export the ONNX copy only once."""
atexit.register(shutil.rmtree, MODEL_CACHE, True)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see a developer's settings or token."""
    for name in list(os.environ):
        if name.startswith("STORYBOT_") or name == "DISCORD_TOKEN":
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STORYBOT_MODEL_CACHE_DIR", str(MODEL_CACHE))


class HashEmbedder(Embedder):
    """Deterministic bag-of-words vectors: fast stand-in for store and build tests."""

    model_id = "test/hash-embedder"
    dimension = 64

    def __init__(self, fail_after: int | None = None) -> None:
        self.calls = 0
        self.texts_embedded = 0
        self.fail_after = fail_after

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise RuntimeError("simulated failure in the middle of a build")
        self.texts_embedded += len(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
            out[row, 0] += 0.01
        return out


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The real bundled model, loaded once for the whole run."""
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def engine_config(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> EngineConfig:
    """A copy of the bundled corpus with its index built once (tests may add stories to a copy of their own)."""
    root = tmp_path_factory.mktemp("bundled")
    shutil.copytree(BUNDLED_CORPUS, root / "corpus")
    config = EngineConfig(corpus_dir=root / "corpus", index_dir=root / "index")
    build_index(config, embedder)
    return config


@pytest.fixture(scope="session")
def engine(engine_config: EngineConfig, embedder: SentenceTransformerEmbedder) -> Engine:
    return Engine.open(engine_config, build="never", embedder=embedder)


def write_story(folder: Path, name: str, body: str, title: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    header = f"---\ntitle: {title}\n---\n" if title else ""
    path = folder / name
    path.write_text(header + body, encoding="utf-8")
    return path


@pytest.fixture
def small_corpus(tmp_path: Path) -> Iterator[Path]:
    corpus = tmp_path / "corpus"
    write_story(
        corpus,
        "harbour.txt",
        "The harbour reopened on Monday after the storm.\nFishermen said the damage was worse than in 2012.\n",
        title="Harbour reopens",
    )
    write_story(
        corpus,
        "school.md",
        "The new school has 400 pupils.\nIt opened in\nSeptember.\n\nThe head teacher is Ms. Rivera.\n",
        title="A new school",
    )
    yield corpus


from tests.bot_fixtures import own_engine_config  # noqa: E402, F401  (a private corpus copy for /reindex tests)
from tests.fake_discord.fixtures import fake_discord  # noqa: E402, F401  (fake Discord for end-to-end tests)
from tests.reliability_fixtures import token_watch  # noqa: E402, F401  (every log line checked for the token)
