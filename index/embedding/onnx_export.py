"""Making the ONNX copy: export the loaded model once, check it, and keep what still matches.

Each step that rewrites the graph (ONNX Runtime's fusion, the padding-free packing) is kept
only if the probes' vectors still match `encode()`'s; a model the export cannot carry is
remembered with the library versions that failed, so later starts go straight to PyTorch.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index.embedding.onnx_copy import (
    ENCODING_FIELDS,
    GRAPH,
    PROBES,
    RECORD,
    TOKENIZER,
    TOLERANCE,
    UNSUPPORTED,
    ExportRecord,
    ExportUnsupported,
    OnnxEmbedder,
    export_folder,
    open_export,
)
from index.processes import pid_alive

if TYPE_CHECKING:
    from index.embedding.embedder import SentenceTransformerEmbedder

log = logging.getLogger(__name__)


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

    Fused attention, GELU and layer norms run as single kernels. The fusion knows BERT-like
    encoders; for others it fails or changes nothing, and the graph stays as exported.
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
    """Skip padding tokens (`onnx_packing.py`) if the rewritten graph still gives the vectors.

    Even in chunks sorted by length a burst carries some padding; the packed graph computes
    only the real tokens outside attention.
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
