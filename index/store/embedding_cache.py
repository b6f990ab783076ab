"""An embedding cache keyed by model and text hash, so a rebuild embeds only new text.

It lives beside the generations in the index folder, one file pair per model. After each build
it holds exactly the texts of the corpus just built: removed stories drop out of it. A damaged
or foreign cache is ignored (everything is embedded again), never trusted. A server's index
also reads the shared index's cache (`seed_dirs`), only ever reading it, so the shared stories
it holds too are not embedded again.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.embedding.embedder import Embedder

log = logging.getLogger(__name__)

CACHE_DIR = "embedding-cache"
_DIGEST_BYTES = 16


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=_DIGEST_BYTES).digest()


def _model_key(model_id: str, dimension: int) -> str:
    return hashlib.sha256(f"{model_id}\n{dimension}".encode()).hexdigest()[:16]


class EmbeddingCache:
    """Vectors by text hash for one model, loaded from and saved to the index folder."""

    def __init__(self, index_dir: Path, model_id: str, dimension: int, *, seed_dirs: Sequence[Path] = ()) -> None:
        self.folder = index_dir / CACHE_DIR
        self.dimension = dimension
        key = _model_key(model_id, dimension)
        self.keys_path = self.folder / f"{key}.keys.npy"
        self.vectors_path = self.folder / f"{key}.vectors.npy"
        self._vectors: dict[bytes, np.ndarray] = self._load(self.keys_path, self.vectors_path)
        self._seed: dict[bytes, np.ndarray] = {}
        for seed in seed_dirs:
            folder = seed / CACHE_DIR
            self._seed.update(self._load(folder / self.keys_path.name, folder / self.vectors_path.name))

    def _load(self, keys_path: Path, vectors_path: Path) -> dict[bytes, np.ndarray]:
        if not (keys_path.is_file() and vectors_path.is_file()):
            return {}
        try:
            keys = np.load(keys_path, allow_pickle=False)
            vectors = np.load(vectors_path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            log.warning("Ignoring the embedding cache (%s); everything will be embedded", exc.__class__.__name__)
            return {}
        if (
            keys.dtype != np.dtype(f"S{_DIGEST_BYTES}")
            or vectors.shape != (len(keys), self.dimension)
            or not np.isfinite(vectors).all()
        ):
            log.warning("Ignoring an embedding cache that does not match its model; everything will be embedded")
            return {}
        return {bytes(k): v for k, v in zip(keys, vectors)}

    def __len__(self) -> int:
        return len(self._vectors)

    def embed(
        self, texts: Sequence[str], embedder: Embedder, *, batch_size: int, progress: bool
    ) -> tuple[np.ndarray, int]:
        """Vectors for all texts, embedding only those not cached; returns (vectors, newly embedded)."""
        keys = [text_key(t) for t in texts]
        missing: dict[bytes, str] = {}
        for key, text in zip(keys, texts):
            if key in self._vectors or key in missing:
                continue
            if key in self._seed:
                self._vectors[key] = self._seed[key]
            else:
                missing[key] = text
        if missing:
            fresh = embedder.embed(list(missing.values()), batch_size=batch_size, progress=progress)
            self._vectors.update(zip(missing.keys(), fresh))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for row, key in enumerate(keys):
            out[row] = self._vectors[key]
        self._keep_only(set(keys))
        return out, len(missing)

    def _keep_only(self, keys: set[bytes]) -> None:
        self._vectors = {k: v for k, v in self._vectors.items() if k in keys}

    def save(self) -> None:
        """Write atomically (temp file, then rename); call with the build lock held."""
        self.folder.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self._vectors.keys()), dtype=np.dtype(f"S{_DIGEST_BYTES}"))
        vectors = np.array(list(self._vectors.values()), dtype=np.float32).reshape(len(keys), self.dimension)
        for path, array in ((self.vectors_path, vectors), (self.keys_path, keys)):
            temp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            with temp.open("wb") as handle:
                np.save(handle, array, allow_pickle=False)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
