"""Trained heads on the bundled encoder: the cross-encoder reranker and the answer-span reader.

Each is a small adapter shipped in `shipped/<name>/` (trained by `python -m index.quality.train_heads`),
merged into the bundled all-MiniLM-L6-v2 and run from a checked ONNX copy in the model cache.
One `Heads` per process, shared by every engine, like the embedding model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from index.config import EngineConfig
from index.heads.reader import AnswerReader, FoundSpan
from index.heads.reranker import Reranker
from index.heads.runtime import open_head, pair_tokenizer
from index.heads.spec import HeadSpec, head_spec

log = logging.getLogger(__name__)

RERANKER = "reranker"
READER = "reader"


@dataclass(frozen=True, slots=True)
class Heads:
    """What the engine has beyond the embedding model; either may be missing (not shipped, or off)."""

    reranker: Reranker | None = None
    reader: AnswerReader | None = None


def load_heads(config: EngineConfig) -> Heads:
    """The shipped heads, ready to run (the reranker only when `config.reranker` is on)."""
    runtime = "torch" if config.runtime == "torch" or config.device != "cpu" else "auto"
    reranker = reader = None
    if config.reranker and (spec := head_spec(RERANKER)) is not None:
        reranker = Reranker(spec, pair_tokenizer(spec), open_head(spec, config.model_cache_dir, runtime))
    if (spec := head_spec(READER)) is not None:
        reader = AnswerReader(spec, pair_tokenizer(spec), open_head(spec, config.model_cache_dir, runtime))
    return Heads(reranker, reader)


__all__ = ["READER", "RERANKER", "AnswerReader", "FoundSpan", "HeadSpec", "Heads", "Reranker", "load_heads"]
