"""The model as an ONNX graph: questions embedded without importing PyTorch.

A one-question forward pass through sentence-transformers costs about 15 ms on two CPU cores,
most of it PyTorch's per-operator overhead, and importing torch and transformers is most of a
cold start. ONNX Runtime runs the same float32 graph in about 7 ms and imports in a tenth of a
second. The graph is exported once from the loaded sentence-transformers model and kept in the
model cache; it is used only if it reproduces `encode()`'s vectors, checked on probe texts when
it is exported and again each time it is opened, so an index built by either runtime serves
with the other.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from index.embedding.embedder import Embedder
from index.embedding.onnx_packing import SKIP_NORM_FUSION
from index.embedding.onnx_session import onnx_cpu_session
from index.processes import pid_alive

if TYPE_CHECKING:
    from index.embedding.embedder import SentenceTransformerEmbedder

log = logging.getLogger(__name__)

EXPORT_FORMAT = 2
"""Bumped when copies made by an older storybot should be made again (2: padding-free graphs)."""
RECORD = "export.json"
GRAPH = "model.onnx"
TOKENIZER = "tokenizer.json"
UNSUPPORTED = "unsupported.json"
TOLERANCE = 1e-5
"""Largest difference allowed between a probe's vector here and from `encode()`; measured ~2e-7."""

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
"""Texts per forward pass, taken in order of token count. A burst of 64 questions padded to its
longest one wastes about 45% of the work on padding; sorted chunks of 16 ran 1.6 times as many
questions per second here (chunks of 8 as fast, 32 and 4 slower). A padding-free graph
(`index/embedding/onnx_packing.py`) pads only inside attention, where sorted chunks still save work."""


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


def unsupported_reason(cache_dir: Path, model_id: str) -> str | None:
    """Why an earlier export of this model failed, if it did with these library versions."""
    marker = export_folder(cache_dir, model_id) / UNSUPPORTED
    try:
        raw = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if raw.get("model_id") != model_id or raw.get("versions") != _library_versions():
        return None  # another model or other libraries: worth trying again
    return str(raw.get("reason", "unknown"))


def export(source: SentenceTransformerEmbedder, cache_dir: Path) -> OnnxEmbedder:
    """Export `source` to the cache, check it against `encode()`, and open it.

    Raises ExportUnsupported (and remembers why, so later starts do not retry) when the model
    needs something the export does not carry, or the graph's vectors differ from the model's.
    """
    folder = export_folder(cache_dir, source.model_id)
    try:
        return _export(source, folder)
    except ExportUnsupported as exc:
        _remember_unsupported(folder, source.model_id, str(exc))
        raise
    except OSError:
        raise  # the cache cannot be written: nothing to remember about the model
    except Exception as exc:  # the model library's internals differ from what the export expects
        reason = f"export failed: {exc.__class__.__name__}: {str(exc)[:200]}"
        _remember_unsupported(folder, source.model_id, reason)
        raise ExportUnsupported(reason) from None


def _export(source: SentenceTransformerEmbedder, folder: Path) -> OnnxEmbedder:
    import torch
    from tokenizers import Tokenizer

    model = source._model
    if source.device != "cpu":
        raise ExportUnsupported(f"the model runs on {source.device}")
    if source._prompt:
        raise ExportUnsupported("the model adds a default prompt")
    tokenizer = getattr(getattr(model, "tokenizer", None), "backend_tokenizer", None)
    if tokenizer is None or not callable(getattr(model, "preprocess", None)):
        raise ExportUnsupported("the model has no fast tokenizer")
    probes = list(PROBES)
    expected = source._encode(probes)
    example = model.preprocess(probes)
    inputs = tuple(k for k, v in example.items() if isinstance(v, torch.Tensor))
    constants = {k: v for k, v in example.items() if not isinstance(v, torch.Tensor)}
    if not inputs or any(name not in ENCODING_FIELDS for name in inputs):
        raise ExportUnsupported(f"the model takes inputs {sorted(example)}")
    hf_tokenizer = model.tokenizer
    untruncated = Tokenizer.from_str(tokenizer.to_str())
    untruncated.no_truncation()
    longest = len(untruncated.encode(PROBES[-1]).ids)
    truncated = int(example["input_ids"].shape[1])
    record = ExportRecord(
        model_id=source.model_id,
        dimension=source.dimension,
        inputs=inputs,
        max_length=truncated if truncated < longest else None,
        pad_id=int(hf_tokenizer.pad_token_id or 0),
        pad_type_id=int(getattr(hf_tokenizer, "pad_token_type_id", 0) or 0),
        padding_side=str(getattr(hf_tokenizer, "padding_side", "right")),
        probe_vectors=expected,
    )
    temp = folder.parent / f".{folder.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
    _remove_dead_temps(folder)
    temp.mkdir(parents=True)
    try:
        graph = _pipeline_module(model, inputs, constants, source._truncate_dim).eval()
        transformer = getattr(model[0], "auto_model", None) if len(model) else None
        with torch.inference_mode(), warnings.catch_warnings(), _eager_attention(transformer):
            warnings.simplefilter("ignore")
            dynamic = {name: {0: "batch", 1: "tokens"} for name in inputs}
            torch.onnx.export(
                graph,
                tuple(example[name] for name in inputs),
                str(temp / GRAPH),
                input_names=list(inputs),
                output_names=["sentence_embedding"],
                dynamic_axes={**dynamic, "sentence_embedding": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        (temp / TOKENIZER).write_text(tokenizer.to_str(), encoding="utf-8")
        difference = OnnxEmbedder(temp, record).matches(expected)
        if difference > TOLERANCE:
            raise ExportUnsupported(f"the ONNX graph's vectors differ from the model's by {difference:.1e}")
        _fuse_if_exact(temp, record, getattr(transformer, "config", None))
        _pack_if_exact(temp, record)
        (temp / RECORD).write_text(json.dumps(record.to_json()), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        try:
            temp.rename(folder)
        except OSError:  # another process published its export first; theirs serves as well
            shutil.rmtree(temp, ignore_errors=True)
            found = open_export(folder.parent, source.model_id)
            if found is None:
                raise ExportUnsupported("another process's export could not be opened") from None
            return found
        return OnnxEmbedder(folder, record)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


@contextmanager
def _eager_attention(transformer: Any) -> Iterator[None]:
    """Trace attention as plain matrix products, the pattern ONNX Runtime fuses into one kernel.

    transformers' default (PyTorch's fused attention) exports as a graph the fusion does not know.
    """
    before = getattr(getattr(transformer, "config", None), "_attn_implementation", None)
    switch = callable(getattr(transformer, "set_attn_implementation", None)) and before not in (None, "eager")
    if switch:
        try:
            transformer.set_attn_implementation("eager")
        except Exception:  # a model without an eager path exports as it is
            switch = False
    try:
        yield
    finally:
        if switch:
            transformer.set_attn_implementation(before)


def _fuse_if_exact(folder: Path, record: ExportRecord, config: Any) -> None:
    """Replace the graph by ONNX Runtime's fused version of it if that still gives the vectors.

    Fusing attention, GELU and layer norms saved about a fifth of a one-question pass here.
    The fusion knows BERT-like encoders; for others it fails or changes nothing, and the
    graph stays as exported.
    """
    heads, hidden = getattr(config, "num_attention_heads", None), getattr(config, "hidden_size", None)
    if not heads or not hidden:
        return

    def fuse(source: Path, target: Path) -> bool:
        from onnxruntime.transformers.optimizer import optimize_model

        _quiet_fusion_loggers()
        fused = optimize_model(str(source), model_type="bert", num_heads=int(heads), hidden_size=int(hidden))
        fused.save_model_to_file(str(target))
        return True

    _replace_if_exact(folder, record, fuse, "fused")


def _pack_if_exact(folder: Path, record: ExportRecord) -> None:
    """Skip padding tokens (`index/embedding/onnx_packing.py`) if the rewritten graph still gives the vectors.

    A burst of 64 questions, padded by about 15% even in sorted chunks, ran 5–15% faster.
    """

    def pack(source: Path, target: Path) -> bool:
        import onnx

        from index.embedding.onnx_packing import pack_tokens

        packed = pack_tokens(onnx.load(str(source)))
        if packed is None:
            return False
        onnx.save(packed, str(target))
        return True

    _replace_if_exact(folder, record, pack, "packed")


def _replace_if_exact(folder: Path, record: ExportRecord, rewrite: Callable[[Path, Path], bool], what: str) -> None:
    """Run an optional rewrite of the graph and keep its result only if the probes still match."""
    trial = folder / what
    try:
        trial.mkdir()
        if not rewrite(folder / GRAPH, trial / GRAPH):
            log.debug("the graph has no shape a %s version is made for; keeping it", what)
            return
        shutil.copy(folder / TOKENIZER, trial / TOKENIZER)
        difference = OnnxEmbedder(trial, record).matches(record.probe_vectors)
        if difference <= TOLERANCE:
            os.replace(trial / GRAPH, folder / GRAPH)
        else:
            log.debug("the %s graph differs by %.1e; keeping the graph before it", what, difference)
    except Exception as exc:  # any failure of an optional rewrite leaves the graph before it
        log.debug("no %s graph (%s); keeping the graph before it", what, exc)
    finally:
        shutil.rmtree(trial, ignore_errors=True)


def _quiet_fusion_loggers() -> None:
    """The fusion's modules log each pattern they try under their bare module names."""
    for name, module in list(sys.modules.items()):
        if f"onnxruntime{os.sep}transformers" in str(getattr(module, "__file__", "") or ""):
            logging.getLogger(name).setLevel(logging.ERROR)


def _pipeline_module(model: Any, inputs: tuple[str, ...], constants: dict[str, Any], truncate_dim: int | None) -> Any:
    """The sentence-transformers pipeline after tokenization, with `_forward`'s truncation and norm."""
    import torch

    class Pipeline(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: Any) -> Any:
            features = {**constants, **dict(zip(inputs, tensors))}
            vectors = self.model(features)["sentence_embedding"]
            if truncate_dim is not None:
                vectors = vectors[..., :truncate_dim]
            return torch.nn.functional.normalize(vectors, p=2, dim=1)

    return Pipeline()


def _remember_unsupported(folder: Path, model_id: str, reason: str) -> None:
    log.info("The model %s will run through PyTorch: %s", model_id, reason)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        marker = {"model_id": model_id, "reason": reason, "versions": _library_versions()}
        (folder / UNSUPPORTED).write_text(json.dumps(marker), encoding="utf-8")
    except OSError:
        pass  # a read-only cache only means the export is tried again next time


def _remove_dead_temps(folder: Path) -> None:
    for temp in folder.parent.glob(f".{folder.name}.*.tmp"):
        pid = temp.name[len(folder.name) + 2 :].split("-", 1)[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(temp, ignore_errors=True)


def _library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("torch", "transformers", "sentence-transformers", "onnx", "onnxruntime"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = ""
    return found
