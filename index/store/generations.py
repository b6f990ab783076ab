"""The index on disk: generations written beside the one in use, then switched to atomically.

Layout of the index folder:
    CURRENT              name of the generation in use (replaced atomically)
    gen-<id>/            manifest.json, meta.json, sentences.npy, sentences.faiss, paragraphs.npy
    .build-<pid>-<rand>/ a build in progress (removed by the next build once its process is gone)
    build.lock           held by a build, so `ask` and the bot never build at the same time

A crash at any point leaves CURRENT naming a complete generation. Files hold only JSON, raw
numpy arrays (loaded with allow_pickle=False) and FAISS's own format: nothing is unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.durable import fsync_dir
from index.errors import (
    BuildInProgressError,
    IndexCorruptError,
    IndexIncompatibleError,
    IndexMissingError,
    IndexStoreError,
)
from index.processes import pid_alive

FORMAT_VERSION = 1
CURRENT = "CURRENT"
LOCK = "build.lock"
BUILD_PREFIX = ".build-"
GEN_PREFIX = "gen-"
KEEP_OLD_GENERATIONS = 1
REBUILD_HINT = "run `storybot index build` to rebuild it"


@dataclass(frozen=True, slots=True)
class StoredStory:
    title: str
    file: str
    paragraphs: tuple[str, ...]
    source: str | None
    date: str | None
    author: str | None


@dataclass(slots=True)
class IndexData:
    """Everything a built index holds, in memory."""

    manifest: dict[str, Any]
    stories: tuple[StoredStory, ...]
    sentences: np.ndarray  # (n, 4) int32: story, paragraph (0-based), start, end
    sentence_vectors: Any  # a faiss.Index over the sentences, same order
    paragraph_vectors: np.ndarray  # (p, d) float32, paragraphs in story order
    path: Path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_bytes(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _write_array(path: Path, array: np.ndarray) -> None:
    with path.open("wb") as handle:
        np.save(handle, np.ascontiguousarray(array), allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())


class BuildLock:
    """An exclusive, non-blocking lock on the index folder (released if the process dies)."""

    def __init__(self, index_dir: Path, timeout: float = 0.0) -> None:
        from filelock import FileLock

        self._index_dir = index_dir
        try:
            index_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _unwritable(index_dir, exc) from None
        self._lock = FileLock(str(index_dir / LOCK), timeout=timeout)

    def __enter__(self) -> BuildLock:
        from filelock import Timeout

        try:
            self._lock.acquire()
        except Timeout:
            raise BuildInProgressError("another build of this index is running; try again when it finishes") from None
        except OSError as exc:
            raise _unwritable(self._index_dir, exc) from None
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def _unwritable(index_dir: Path, exc: OSError) -> IndexStoreError:
    reason = exc.strerror or exc.__class__.__name__
    return IndexStoreError(
        f"{index_dir}: cannot write the index folder ({reason}); check its permissions or STORYBOT_INDEX_DIR"
    )


def clean_leftovers(index_dir: Path) -> list[Path]:
    """Remove builds whose process is gone and generations no longer needed (hold the lock)."""
    removed: list[Path] = []
    if not index_dir.is_dir():
        return removed
    for child in index_dir.iterdir():
        if child.name.startswith(BUILD_PREFIX) and child.is_dir():
            pid_part = child.name[len(BUILD_PREFIX) :].split("-", 1)[0]
            if pid_part.isdigit() and (int(pid_part) == os.getpid() or not pid_alive(int(pid_part))):
                shutil.rmtree(child, ignore_errors=True)
                removed.append(child)
    cache_dir = index_dir / "embedding-cache"
    if cache_dir.is_dir():
        for temp in cache_dir.glob("*.tmp"):
            pid_part = temp.name.rsplit(".", 2)[-2]
            if pid_part.isdigit() and not pid_alive(int(pid_part)):
                temp.unlink(missing_ok=True)
                removed.append(temp)
    current = read_current_name(index_dir)
    generations = sorted(
        (c for c in index_dir.iterdir() if c.name.startswith(GEN_PREFIX) and c.is_dir()),
        key=lambda c: c.name,
    )
    old = [g for g in generations if g.name != current]
    for gen in old[: max(0, len(old) - KEEP_OLD_GENERATIONS)]:
        shutil.rmtree(gen, ignore_errors=True)
        removed.append(gen)
    return removed


def new_build_dir(index_dir: Path) -> Path:
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / f"{BUILD_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    path.mkdir()
    return path


def write_generation(
    build_dir: Path,
    *,
    manifest: dict[str, Any],
    stories: list[StoredStory],
    sentences: np.ndarray,
    sentence_index: Any,
    paragraph_vectors: np.ndarray,
) -> None:
    """Write every file of a generation into its build folder, with checksums in the manifest."""
    import faiss

    meta = {"stories": [_story_json(s) for s in stories]}
    _write_bytes(build_dir / "meta.json", json.dumps(meta, ensure_ascii=False).encode("utf-8"))
    _write_array(build_dir / "sentences.npy", sentences.astype(np.int32))
    _write_array(build_dir / "paragraphs.npy", paragraph_vectors.astype(np.float32))
    faiss.write_index(sentence_index, str(build_dir / "sentences.faiss"))
    with (build_dir / "sentences.faiss").open("rb+") as handle:
        os.fsync(handle.fileno())
    files = {
        name: sha256_file(build_dir / name)
        for name in ("meta.json", "sentences.npy", "paragraphs.npy", "sentences.faiss")
    }
    full = {**manifest, "format_version": FORMAT_VERSION, "files": files}
    _write_bytes(build_dir / "manifest.json", json.dumps(full, indent=2, ensure_ascii=False).encode("utf-8"))
    fsync_dir(build_dir)


def publish(index_dir: Path, build_dir: Path) -> Path:
    """Turn a finished build into the generation in use: rename, then switch CURRENT."""
    name = f"{GEN_PREFIX}{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"
    final = index_dir / name
    os.replace(build_dir, final)
    pointer = index_dir / f"{CURRENT}.{os.getpid()}.tmp"
    _write_bytes(pointer, (name + "\n").encode())
    os.replace(pointer, index_dir / CURRENT)
    fsync_dir(index_dir)
    return final


def read_current_name(index_dir: Path) -> str | None:
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not name.startswith(GEN_PREFIX) or "/" in name or "\\" in name or ".." in name:
        return None
    return name


def current_generation(index_dir: Path) -> Path:
    name = read_current_name(index_dir)
    if name is None:
        if (index_dir / CURRENT).exists():
            raise IndexCorruptError(f"{index_dir / CURRENT}: does not name a generation; {REBUILD_HINT}")
        raise IndexMissingError(f"no index in {index_dir}; {REBUILD_HINT}")
    path = index_dir / name
    if not path.is_dir():
        raise IndexCorruptError(f"{path}: the index in use is missing; {REBUILD_HINT}")
    return path


def read_manifest(generation: Path) -> dict[str, Any]:
    path = generation / "manifest.json"
    if not path.is_file():
        raise IndexCorruptError(f"{path}: manifest missing; {REBUILD_HINT}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise IndexCorruptError(f"{path}: manifest unreadable; {REBUILD_HINT}") from None
    if not isinstance(manifest, dict):
        raise IndexCorruptError(f"{path}: manifest is not a JSON object; {REBUILD_HINT}")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexIncompatibleError(
            f"{generation}: index format {version} is not the format this storybot reads ({FORMAT_VERSION}); "
            f"{REBUILD_HINT}"
        )
    return manifest


def check_model(manifest: dict[str, Any], model_id: str, generation: Path) -> None:
    built_with = manifest.get("model")
    if built_with != model_id:
        raise IndexIncompatibleError(
            f"{generation}: built with model {built_with!r}, but STORYBOT_EMBEDDING_MODEL is {model_id!r}; "
            f"{REBUILD_HINT}"
        )


def load_generation(generation: Path, *, verify: bool = True) -> IndexData:
    """Read a generation, checking every file against the manifest before trusting it."""
    import faiss

    manifest = read_manifest(generation)
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise IndexCorruptError(f"{generation}: manifest lists no files; {REBUILD_HINT}")
    for name, expected in files.items():
        path = generation / str(name)
        if not path.is_file():
            raise IndexCorruptError(f"{path}: missing; {REBUILD_HINT}")
        if verify and sha256_file(path) != expected:
            raise IndexCorruptError(f"{path}: checksum mismatch (the file is damaged); {REBUILD_HINT}")
    try:
        meta = json.loads((generation / "meta.json").read_text(encoding="utf-8"))
        stories = tuple(_story_from_json(s) for s in meta["stories"])
        sentences = np.load(generation / "sentences.npy", allow_pickle=False)
        paragraph_vectors = np.load(generation / "paragraphs.npy", allow_pickle=False)
        sentence_index = faiss.read_index(str(generation / "sentences.faiss"))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(
            f"{generation}: cannot read the index ({exc.__class__.__name__}); {REBUILD_HINT}"
        ) from None
    data = IndexData(manifest, stories, sentences, sentence_index, paragraph_vectors, generation)
    _check_consistency(data)
    return data


def _check_consistency(data: IndexData) -> None:
    where = data.path
    n_paragraphs = sum(len(s.paragraphs) for s in data.stories)
    problems = []
    if data.sentences.ndim != 2 or data.sentences.shape[1] != 4:
        problems.append("sentence table has the wrong shape")
    elif data.sentence_vectors.ntotal != len(data.sentences):
        problems.append(f"{data.sentence_vectors.ntotal} vectors for {len(data.sentences)} sentences")
    if data.paragraph_vectors.shape[0] != n_paragraphs:
        problems.append(f"{data.paragraph_vectors.shape[0]} paragraph vectors for {n_paragraphs} paragraphs")
    if data.manifest.get("dimension") not in (data.sentence_vectors.d, None):
        problems.append("vector dimension disagrees with the manifest")
    if data.manifest.get("sentences") != len(data.sentences):
        problems.append("sentence count disagrees with the manifest")
    if not problems and len(data.sentences):
        story, para, start, end = (data.sentences[:, i] for i in range(4))
        if story.min() < 0 or story.max() >= len(data.stories):
            problems.append("a sentence points at a story that does not exist")
        else:
            lengths = np.array([len(p) for s in data.stories for p in s.paragraphs] or [0])
            offsets = np.cumsum([0] + [len(s.paragraphs) for s in data.stories])[:-1]
            counts = np.array([len(s.paragraphs) for s in data.stories])
            if (para < 0).any() or (para >= counts[story]).any():
                problems.append("a sentence points at a paragraph that does not exist")
            elif (start < 0).any() or (end <= start).any() or (end > lengths[offsets[story] + para]).any():
                problems.append("a sentence span lies outside its paragraph")
    if problems:
        raise IndexCorruptError(f"{where}: {'; '.join(problems)}; {REBUILD_HINT}")


def _story_json(story: StoredStory) -> dict[str, Any]:
    return {
        "title": story.title,
        "file": story.file,
        "source": story.source,
        "date": story.date,
        "author": story.author,
        "paragraphs": list(story.paragraphs),
    }


def _story_from_json(raw: dict[str, Any]) -> StoredStory:
    return StoredStory(
        title=str(raw["title"]),
        file=str(raw["file"]),
        paragraphs=tuple(str(p) for p in raw["paragraphs"]),
        source=raw.get("source"),
        date=raw.get("date"),
        author=raw.get("author"),
    )
