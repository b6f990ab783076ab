"""Running a head: a checked ONNX copy in the model cache, or PyTorch when there is none.

The first start loads the bundled base model with PyTorch, merges the head's adapter into it
(peft), exports the merged model once to ONNX and keeps the copy only if it gives PyTorch's
outputs on probe pairs; later starts open the copy without importing PyTorch. Like the
embedding model's copy, it is checked again each time it is opened.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import warnings
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.embedding.onnx_session import onnx_cpu_session
from index.errors import ModelError
from index.heads.pairs import INPUTS, PairTokenizer
from index.heads.spec import HeadSpec

log = logging.getLogger(__name__)

EXPORT_FORMAT = 1
GRAPH = "model.onnx"
RECORD = "export.json"
TOLERANCE = 1e-4
"""Largest difference allowed between a probe's output from the copy and from PyTorch, relative to
the largest output (at least 1): far below what changes a ranking or a span, well above float32
rounding across runtimes, which grows with the logits' size."""
PROBES = (
    ("Who said the city's police were soft on crime?", "The DOJ statement called the city “soft on crime.”"),
    ("how many ppl were locked up", "In 2016 we locked up over 1,000 people in over 100 gang takedowns."),
    ("?", ""),
    ("Café naïve — “quoted” 😀 日本語?", "Ελληνικά and 1,000 $5.50 " * 40),
)


class HeadRuntime(Protocol):
    """Runs the head on one padded batch of pairs; one array per output of the head's task."""

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]: ...


class OnnxHead:
    def __init__(self, graph: Path) -> None:
        self._session = onnx_cpu_session(str(graph))

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return [np.asarray(o, dtype=np.float32) for o in self._session.run(None, feeds)]


class TorchHead:
    def __init__(self, model: Any, outputs: tuple[str, ...]) -> None:
        self._model = model
        self._outputs = outputs

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        import torch

        with torch.inference_mode():
            out = self._model(**{k: torch.from_numpy(v) for k, v in feeds.items()})
        return [getattr(out, name).float().numpy() for name in self._outputs]


def base_model_path() -> Path:
    from index.embedding.embedder import bundled_model_path

    return bundled_model_path()


def pair_tokenizer(spec: HeadSpec) -> PairTokenizer:
    return PairTokenizer(base_model_path() / "tokenizer.json", spec.max_length)


def load_torch_head(spec: HeadSpec) -> TorchHead:
    """The bundled base with the head's adapter merged in, on PyTorch."""
    try:
        import transformers
        from peft import PeftModel
    except ImportError as exc:
        raise ModelError(f"the {spec.name} head needs PyTorch, transformers and peft ({exc.name} is missing)") from None
    auto = {
        "sequence-classification": transformers.AutoModelForSequenceClassification,
        "question-answering": transformers.AutoModelForQuestionAnswering,
    }[spec.task]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        verbosity = transformers.logging.get_verbosity()
        transformers.logging.set_verbosity(transformers.logging.ERROR)  # the task layer is new until the adapter loads
        try:
            if spec.task == "sequence-classification":
                base = auto.from_pretrained(str(base_model_path()), local_files_only=True, num_labels=1)
            else:
                base = auto.from_pretrained(str(base_model_path()), local_files_only=True)
            model = PeftModel.from_pretrained(base, str(spec.folder), local_files_only=True).merge_and_unload()
        finally:
            transformers.logging.set_verbosity(verbosity)
    model.eval()
    if hasattr(model, "set_attn_implementation"):
        try:
            model.set_attn_implementation("eager")  # plain products: the pattern ONNX Runtime fuses
        except Exception:
            log.debug("the %s head keeps its attention implementation", spec.name)
    return TorchHead(model, spec.outputs)


def export_folder(cache_dir: Path, spec: HeadSpec) -> Path:
    return cache_dir / f"head-{spec.name}-{spec.fingerprint}"


def open_head(spec: HeadSpec, cache_dir: Path, runtime: str = "auto") -> HeadRuntime:
    """The head ready to run: its checked ONNX copy, else PyTorch (exporting the copy for next time)."""
    tokenizer = pair_tokenizer(spec)
    probes = _probe_feeds(tokenizer)
    if runtime == "auto":
        found = _open_copy(export_folder(cache_dir, spec), spec, probes)
        if found is not None:
            return found
    source = load_torch_head(spec)
    if runtime != "auto":
        return source
    try:
        return _export(source, spec, export_folder(cache_dir, spec), probes)
    except OSError as exc:
        log.warning("Cannot save the ONNX copy of the %s head in %s (%s); using PyTorch", spec.name, cache_dir, exc)
    except Exception as exc:  # an export the libraries cannot make costs speed, not service
        log.warning(
            "The %s head runs through PyTorch, slower to start: %s: %s",
            spec.name,
            exc.__class__.__name__,
            str(exc)[:200],
        )
    return source


def _probe_feeds(tokenizer: PairTokenizer) -> dict[str, np.ndarray]:
    return tokenizer.feeds(tokenizer.encode([q for q, _ in PROBES], [p for _, p in PROBES]))


def _difference(head: HeadRuntime, probes: dict[str, np.ndarray], expected: list[np.ndarray]) -> float:
    got = head.run(probes)
    if len(got) != len(expected) or any(g.shape != e.shape for g, e in zip(got, expected)):
        return float("inf")
    return max(float(np.abs(g - e).max()) / max(1.0, float(np.abs(e).max())) for g, e in zip(got, expected))


def _open_copy(folder: Path, spec: HeadSpec, probes: dict[str, np.ndarray]) -> OnnxHead | None:
    if not (folder / RECORD).is_file():
        return None
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
        if record.get("format") != EXPORT_FORMAT or record.get("fingerprint") != spec.fingerprint:
            raise ValueError("made for another head or by another version of storybot")
        head = OnnxHead(folder / GRAPH)
        expected = [np.asarray(o, dtype=np.float32) for o in record["probe_outputs"]]
        difference = _difference(head, probes, expected)
    except Exception as exc:  # a damaged or foreign copy is not used, whatever the failure
        log.warning("Not using the ONNX copy of the %s head in %s (%s)", spec.name, folder, exc)
        return None
    if difference > TOLERANCE:
        log.warning(
            "The ONNX copy of the %s head in %s is off by %.1e of its scale; using PyTorch",
            spec.name,
            folder,
            difference,
        )
        return None
    return head


def _export(source: TorchHead, spec: HeadSpec, folder: Path, probes: dict[str, np.ndarray]) -> HeadRuntime:
    import torch

    expected = source.run(probes)
    temp = folder.parent / f".{folder.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
    temp.mkdir(parents=True)
    try:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                source._model,
                (),
                str(temp / GRAPH),
                kwargs={name: torch.from_numpy(probes[name]) for name in INPUTS},
                input_names=list(INPUTS),
                output_names=list(spec.outputs),
                dynamic_axes={
                    **{name: {0: "batch", 1: "tokens"} for name in INPUTS},
                    **{name: {0: "batch"} for name in spec.outputs},
                },
                opset_version=17,
                dynamo=False,
            )
        copy = OnnxHead(temp / GRAPH)
        difference = _difference(copy, probes, expected)
        if difference > TOLERANCE:
            raise ModelError(f"the ONNX graph's outputs differ from PyTorch's by {difference:.1e} of their scale")
        record = {
            "format": EXPORT_FORMAT,
            "name": spec.name,
            "fingerprint": spec.fingerprint,
            "probe_outputs": [o.tolist() for o in expected],
        }
        (temp / RECORD).write_text(json.dumps(record), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        try:
            temp.rename(folder)
        except OSError:  # another process published its copy first; theirs serves as well
            shutil.rmtree(temp, ignore_errors=True)
            return _open_copy(folder, spec, probes) or source
        return OnnxHead(folder / GRAPH)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
