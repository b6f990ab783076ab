"""Shared fixtures and hooks: a clean environment, the real model loaded once, the bundled corpus indexed once.

Plain helpers are in tests/helpers.py and test doubles in tests/doubles.py; the fixture modules
listed in `pytest_plugins` are registered here, once, for every test module.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from index import Engine, EngineConfig, build_index
from index.embedding.embedder import SentenceTransformerEmbedder
from index.heads import Heads
from tests.doubles import HashEmbedder
from tests.helpers import BUNDLED_CORPUS, MODEL_CACHE, write_story

pytest_plugins = [  # in import order: a plugin imported by an earlier one could not be assert-rewritten
    "tests.fake_discord.fixtures",  # fake_discord: the fake Discord for end-to-end tests
    "tests.bot_fixtures",  # own_engine_config: a private corpus copy for /reindex tests
    "tests.reliability_fixtures",  # token_watch (autouse): every log line checked for the token
]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MODEL_FIXTURES = frozenset({"embedder", "engine_config", "engine"})
"""Fixtures that load the real embedding model; a test using any of them (even through another
fixture) is marked `model`."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `model` every test that loads the real model through a fixture (`-m "not model"` skips them)."""
    for item in items:
        if MODEL_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see a developer's settings or token."""
    for name in list(os.environ):
        if name.startswith("STORYBOT_") or name == "DISCORD_TOKEN":
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STORYBOT_MODEL_CACHE_DIR", str(MODEL_CACHE))


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
    config = EngineConfig(corpus_dir=root / "corpus", index_dir=root / "index", model_cache_dir=MODEL_CACHE)
    build_index(config, embedder)
    return config


@pytest.fixture(scope="session")
def engine(engine_config: EngineConfig, embedder: SentenceTransformerEmbedder) -> Engine:
    return Engine.open(engine_config, build="never", embedder=embedder)


@pytest.fixture(scope="session")
def heads(engine: Engine) -> Heads:
    """The shipped heads as the bundled engine opened them: one set of ONNX sessions for the run."""
    return engine.heads


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
