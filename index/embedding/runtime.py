"""Which runtime embeds: the model's ONNX copy when it gives the same vectors, else PyTorch."""

from __future__ import annotations

import logging
import sys

from index.config import EngineConfig
from index.embedding.embedder import Embedder, SentenceTransformerEmbedder, resolve_model
from index.embedding.onnx_copy import ExportUnsupported, open_export
from index.embedding.onnx_export import export, unsupported_reason

log = logging.getLogger(__name__)

RUNTIMES = ("auto", "torch")


def load_embedder(config: EngineConfig, *, progress: bool = False) -> Embedder:
    """The configured model, ready to embed.

    With runtime "auto" on the CPU, a checked ONNX copy in the model cache is opened without
    importing PyTorch. Without one, the model loads through sentence-transformers and the copy
    is made (a few seconds, once per model), so the next start is quick. With `progress`, a
    person at a terminal is told why this start takes longer.
    """
    if config.runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {RUNTIMES}, not {config.runtime!r}")
    if config.runtime == "torch" or config.device != "cpu":
        return SentenceTransformerEmbedder(config.model, config.device)
    model_id = resolve_model(config.model)[0]
    fast = open_export(config.model_cache_dir, model_id)
    if fast is not None:
        return fast
    source = SentenceTransformerEmbedder(config.model, config.device)
    if unsupported_reason(config.model_cache_dir, model_id) is not None:
        return source
    log.info("Saving an ONNX copy of %s in %s, so later starts need not load PyTorch", model_id, config.model_cache_dir)
    if progress and sys.stderr.isatty():
        print(
            f"Saving a fast copy of the embedding model in {config.model_cache_dir} (once, about 15 s)",
            file=sys.stderr,
            flush=True,
        )
    try:
        return export(source, config.model_cache_dir)
    except ExportUnsupported:
        return source
    except OSError as exc:  # an unwritable cache costs speed, not service
        log.warning("Cannot save the ONNX copy of %s in %s (%s); using PyTorch", model_id, config.model_cache_dir, exc)
        return source
