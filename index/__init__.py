"""storybot's retrieval engine: corpus → sentences → FAISS index → verbatim, cited quotes.

No Discord here; `Engine.answer()` serves the CLI, the bot and any other front end.
"""

from index.config import DEFAULT_MODEL, EngineConfig
from index.corpus.stories import Corpus, Story, load_corpus
from index.engine import Engine, check_question, index_info
from index.errors import (
    BuildInProgressError,
    CorpusError,
    IndexCorruptError,
    IndexIncompatibleError,
    IndexMissingError,
    IndexStoreError,
    ModelError,
    QuestionError,
    StorybotError,
)
from index.store.build import BuildReport, build_index
from index.types import ANSWERED, NOT_IN_STORY, OUTCOMES, UNSURE, Answer, IndexInfo, Quote, StorySummary

__all__ = [
    "ANSWERED",
    "DEFAULT_MODEL",
    "NOT_IN_STORY",
    "OUTCOMES",
    "UNSURE",
    "Answer",
    "BuildInProgressError",
    "BuildReport",
    "Corpus",
    "CorpusError",
    "Engine",
    "EngineConfig",
    "IndexCorruptError",
    "IndexIncompatibleError",
    "IndexInfo",
    "IndexMissingError",
    "IndexStoreError",
    "ModelError",
    "QuestionError",
    "Quote",
    "Story",
    "StorySummary",
    "StorybotError",
    "build_index",
    "check_question",
    "index_info",
    "load_corpus",
]
