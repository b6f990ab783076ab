"""The model as an ONNX graph: questions embedded without importing PyTorch.

A short forward pass through sentence-transformers is mostly PyTorch's per-operator overhead,
and importing torch and transformers is most of a cold start; ONNX Runtime runs the same
float32 graph with neither. The graph is made once (`onnx_export.py`) from the loaded
sentence-transformers model and kept in the model cache; it is used only if it reproduces
`encode()`'s vectors, checked on probe texts when it is exported and again each time it is
opened, so an index built by either runtime serves with the other.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from index.embedding.embedder import Embedder
from index.embedding.onnx_packing import SKIP_NORM_FUSION
from index.embedding.onnx_session import onnx_cpu_session

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

EXPORT_FORMAT = 2
"""Bumped when copies made by an older storybot should be made again (2: padding-free graphs)."""
RECORD = "export.json"
GRAPH = "model.onnx"
TOKENIZER = "tokenizer.json"
UNSUPPORTED = "unsupported.json"
TOLERANCE = 1e-5
"""Largest difference allowed between a probe's vector here and from `encode()`: well above
float32 rounding across runtimes, far below what changes a ranking."""

PROBES = (
    "Who said the city's police were soft on crime?",
    "No.",
    "",
    "   Spaces around, and CAPITALS inside.   ",
    "Café naïve — “quoted” 1,000 $5.50 😀 日本語 Ελληνικά",
    "In 2016 we locked up over 1,000 people in over 100 gang takedowns. " * 60,
)
"""Short, empty, padded, non-ASCII and over-long (truncated) texts, embedded as one batch."""

# Which field of a `tokenizers.Encoding` each model input takes.
ENCODING_FIELDS = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}

CHUNK = 16
"""Texts per forward pass, taken in order of token count, so that a burst padded to its longest
question does not spend much of its work on padding. A padding-free graph
(`onnx_packing.py`) pads only inside attention, where sorted chunks still save work."""


class ExportUnsupported(Exception):
    """This model cannot be run through ONNX with the same vectors; the message says why."""


@dataclass(frozen=True, slots=True)
class ExportRecord:
    """What `export.json` holds: how to tokenize and feed the graph, and the probes' vectors."""

    model_id: str
    dimension: int
    inputs: tuple[str, ...]
    max_length: int | None
    pad_id: int
    pad_type_id: int
    padding_side: str
    probe_vectors: np.ndarray

    def to_json(self) -> dict[str, Any]:
        return {
            "format": EXPORT_FORMAT,
            "model_id": self.model_id,
            "dimension": self.dimension,
            "inputs": list(self.inputs),
            "max_length": self.max_length,
            "pad_id": self.pad_id,
            "pad_type_id": self.pad_type_id,
            "padding_side": self.padding_side,
            "probes": list(PROBES),
            "probe_vectors": self.probe_vectors.tolist(),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ExportRecord:
        if raw.get("format") != EXPORT_FORMAT or raw.get("probes") != list(PROBES):
            raise ValueError("made by another version of storybot")
        inputs = tuple(str(name) for name in raw["inputs"])
        if not inputs or any(name not in ENCODING_FIELDS for name in inputs):
            raise ValueError(f"unknown model inputs {inputs}")
        max_length = raw["max_length"]
        return cls(
            model_id=str(raw["model_id"]),
            dimension=int(raw["dimension"]),
            inputs=inputs,
            max_length=int(max_length) if max_length is not None else None,
            pad_id=int(raw["pad_id"]),
            pad_type_id=int(raw["pad_type_id"]),
            padding_side=str(raw["padding_side"]),
            probe_vectors=np.asarray(raw["probe_vectors"], dtype=np.float32),
        )


class OnnxEmbedder(Embedder):
    """An exported model run by ONNX Runtime on the CPU; same id and vectors as its source."""

    def __init__(self, folder: Path, record: ExportRecord) -> None:
        from tokenizers import Tokenizer

        self.model_id = record.model_id
        self.dimension = record.dimension
        self.folder = folder
        self._tokenizer = Tokenizer.from_file(str(folder / TOKENIZER))
        if record.max_length is not None:
            self._tokenizer.enable_truncation(record.max_length)
        else:
            self._tokenizer.no_truncation()
        self._tokenizer.no_padding()  # each chunk is padded to its own longest text below
        self._pad_values = {"input_ids": record.pad_id, "attention_mask": 0, "token_type_ids": record.pad_type_id}
        self._pad_left = record.padding_side == "left"
        self._session = onnx_cpu_session(str(folder / GRAPH), disabled_optimizers=[SKIP_NORM_FUSION])
        # The export drops an input the model never reads (token_type_ids for DistilBERT or
        # MPNet given a tokenizer that makes them); feed exactly what the graph takes.
        wanted = [i.name for i in self._session.get_inputs()]
        if unknown := [name for name in wanted if name not in record.inputs]:
            raise ValueError(f"the graph takes inputs the tokenizer does not make: {unknown}")
        self._inputs = tuple(wanted)

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(list(texts))
        out = np.empty((len(encodings), self.dimension), dtype=np.float32)
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), CHUNK):
            rows = order[start : start + CHUNK]
            out[rows] = self._session.run(None, self._feeds([encodings[i] for i in rows]))[0]
        return out

    def _feeds(self, encodings: list[Any]) -> dict[str, np.ndarray]:
        """The model's inputs for one chunk, padded to its longest text."""
        width = max(len(e.ids) for e in encodings)
        feeds = {}
        for name in self._inputs:
            array = np.full((len(encodings), width), self._pad_values[name], dtype=np.int64)
            for row, encoding in enumerate(encodings):
                values = getattr(encoding, ENCODING_FIELDS[name])
                if self._pad_left:
                    array[row, width - len(values) :] = values
                else:
                    array[row, : len(values)] = values
            feeds[name] = array
        return feeds

    def matches(self, expected: np.ndarray) -> float:
        """Largest difference from `expected` over the probe texts (inf if the shapes differ)."""
        got = self.embed(list(PROBES), batch_size=len(PROBES))
        if got.shape != expected.shape:
            return float("inf")
        return float(np.abs(got - expected).max())


def export_folder(cache_dir: Path, model_id: str) -> Path:
    """Where the export of one model lives: a folder named by a hash of its id."""
    return cache_dir / f"onnx-{hashlib.sha256(model_id.encode()).hexdigest()[:16]}"


def open_export(cache_dir: Path, model_id: str) -> OnnxEmbedder | None:
    """The exported model if it is there and still gives its recorded vectors; None otherwise."""
    folder = export_folder(cache_dir, model_id)
    if not (folder / RECORD).is_file():
        return None
    try:
        record = ExportRecord.from_json(json.loads((folder / RECORD).read_text(encoding="utf-8")))
        if record.model_id != model_id:
            raise ValueError(f"it is the export of {record.model_id}")
        embedder = OnnxEmbedder(folder, record)
        difference = embedder.matches(record.probe_vectors)
    except Exception as exc:  # a damaged or foreign export is not used, whatever the failure
        log.warning("Not using the ONNX copy of %s in %s (%s); loading the model with PyTorch", model_id, folder, exc)
        return None
    if difference > TOLERANCE:
        log.warning(
            "The ONNX copy of %s in %s no longer gives the model's vectors (off by %.1e); loading the model with "
            "PyTorch",
            model_id,
            folder,
            difference,
        )
        return None
    return embedder
