"""The index on disk: manifest checks, staleness, damage detection and crash safety."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index import Engine, EngineConfig, build_index, index_info
from index.errors import (
    BuildInProgressError,
    IndexCorruptError,
    IndexIncompatibleError,
    IndexMissingError,
    IndexStoreError,
)
from index.store.generations import BuildLock, current_generation, load_generation
from tests.doubles import HashEmbedder
from tests.helpers import write_story


@pytest.fixture
def config(small_corpus: Path, tmp_path: Path) -> EngineConfig:
    return EngineConfig(corpus_dir=small_corpus, index_dir=tmp_path / "index")


def test_build_writes_a_manifest_with_checksums(config: EngineConfig, hash_embedder: HashEmbedder) -> None:
    report = build_index(config, hash_embedder)
    manifest = json.loads((report.path / "manifest.json").read_text())
    assert manifest["model"] == "test/hash-embedder"
    assert manifest["dimension"] == 64
    assert manifest["stories"] == 2 and manifest["paragraphs"] == 4 and manifest["sentences"] == report.sentences
    assert set(manifest["files"]) == {"meta.json", "sentences.npy", "paragraphs.npy", "sentences.faiss"}
    assert manifest["corpus_hash"] == report.corpus_hash
    assert "splitter" in manifest and "built_at" in manifest and "format_version" in manifest


def test_missing_index_is_reported(config: EngineConfig, hash_embedder: HashEmbedder) -> None:
    with pytest.raises(IndexMissingError, match="storybot index build"):
        Engine.open(config, build="never", embedder=hash_embedder)


def test_open_builds_a_missing_index_and_answers(config: EngineConfig, hash_embedder: HashEmbedder) -> None:
    engine = Engine.open(config, embedder=hash_embedder)
    answer = engine.answer("how many pupils does the new school have")
    assert answer.quotes[0].file == "school.md"
    assert answer.quotes[0].text == engine.paragraph_text("school.md", 1)[answer.quotes[0].start : answer.quotes[0].end]


def test_index_built_by_another_model_is_refused(config: EngineConfig, hash_embedder: HashEmbedder) -> None:
    build_index(config, hash_embedder)
    other = HashEmbedder()
    other.model_id = "test/another-model"
    with pytest.raises(IndexIncompatibleError, match=r"built with model 'test/hash-embedder'.*rebuild"):
        Engine.open(config, build="if-needed", embedder=other)


def test_other_format_version_is_refused(config: EngineConfig, hash_embedder: HashEmbedder) -> None:
    report = build_index(config, hash_embedder)
    path = report.path / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["format_version"] = 999
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexIncompatibleError, match="format 999"):
        Engine.open(config, build="never", embedder=hash_embedder)


def test_a_flipped_byte_is_caught_not_served(config: EngineConfig, hash_embedder: HashEmbedder) -> None:
    report = build_index(config, hash_embedder)
    target = report.path / "sentences.npy"
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match=r"sentences.npy: checksum mismatch"):
        Engine.open(config, build="never", embedder=hash_embedder)


@pytest.mark.parametrize("damage", ["truncate", "delete_manifest", "garbage_current"])
def test_damaged_index_gives_a_clear_error(config: EngineConfig, hash_embedder: HashEmbedder, damage: str) -> None:
    report = build_index(config, hash_embedder)
    if damage == "truncate":
        (report.path / "sentences.faiss").write_bytes(b"")
    elif damage == "delete_manifest":
        (report.path / "manifest.json").unlink()
    else:
        (config.index_dir / "CURRENT").write_text("../../etc\n")
    with pytest.raises(IndexCorruptError, match="storybot index build"):
        Engine.open(config, build="never", embedder=hash_embedder)


def test_vectors_and_metadata_that_disagree_are_refused(config: EngineConfig, hash_embedder: HashEmbedder) -> None:
    report = build_index(config, hash_embedder)
    manifest_path = report.path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    sentences = np.load(report.path / "sentences.npy")
    with (report.path / "sentences.npy").open("wb") as handle:
        np.save(handle, sentences[:-1])
    from index.store.generations import sha256_file

    manifest["files"]["sentences.npy"] = sha256_file(report.path / "sentences.npy")
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match="vectors for"):
        load_generation(report.path)


def test_changed_corpus_is_reported_stale_then_rebuilt(config: EngineConfig, hash_embedder: HashEmbedder) -> None:
    build_index(config, hash_embedder)
    assert index_info(config).stale is False
    write_story(config.corpus_dir, "new.txt", "The bridge closes in May.", title="Bridge")
    assert index_info(config).stale is True
    stale = Engine.open(config, build="never", embedder=hash_embedder)
    assert stale.is_stale() is True
    fresh = Engine.open(config, build="if-needed", embedder=hash_embedder)
    assert fresh.is_stale() is False
    assert fresh.story("new.txt") is not None


def test_failed_build_leaves_the_previous_index_serving(config: EngineConfig, hash_embedder: HashEmbedder) -> None:
    build_index(config, hash_embedder)
    before = current_generation(config.index_dir)
    write_story(config.corpus_dir, "new.txt", "The bridge closes in May.", title="Bridge")
    with pytest.raises(RuntimeError, match="simulated failure"):
        build_index(config, HashEmbedder(fail_after=0))
    assert current_generation(config.index_dir) == before
    assert not [p for p in config.index_dir.iterdir() if p.name.startswith(".build-")]
    engine = Engine.open(config, build="never", embedder=hash_embedder)
    assert engine.story("new.txt") is None and engine.story("harbour.txt") is not None


def test_killed_build_leftovers_are_cleaned_and_the_old_index_loads(
    config: EngineConfig, hash_embedder: HashEmbedder
) -> None:
    build_index(config, hash_embedder)
    before = current_generation(config.index_dir)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    leftover = config.index_dir / f".build-{dead.stdout.strip()}-deadbeef"
    leftover.mkdir()
    (leftover / "sentences.faiss").write_bytes(b"partial")
    unrelated = config.index_dir / "notes.txt"
    unrelated.write_text("keep me")
    assert Engine.open(config, build="never", embedder=hash_embedder).data.path == before
    build_index(config, hash_embedder)
    assert not leftover.exists()
    assert unrelated.read_text() == "keep me"


def test_a_second_build_while_one_runs_is_refused(config: EngineConfig, hash_embedder: HashEmbedder) -> None:
    with BuildLock(config.index_dir), pytest.raises(BuildInProgressError):
        build_index(config, hash_embedder)


def test_old_generations_are_pruned(config: EngineConfig, hash_embedder: HashEmbedder) -> None:
    for _ in range(4):
        build_index(config, hash_embedder)
    generations = [p for p in config.index_dir.iterdir() if p.name.startswith("gen-")]
    assert len(generations) == 2
    assert current_generation(config.index_dir) in generations


def test_index_files_are_never_pickles(config: EngineConfig, hash_embedder: HashEmbedder) -> None:
    report = build_index(config, hash_embedder)
    for name in os.listdir(report.path):
        assert not name.endswith((".pkl", ".pickle"))
    for name in ("sentences.npy", "paragraphs.npy"):
        np.load(report.path / name, allow_pickle=False)


def test_an_index_folder_that_cannot_be_written_is_named(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the index folder's parent should be", encoding="utf-8")
    corpus = tmp_path / "corpus"
    write_story(corpus, "a.txt", "The council met on Tuesday.", "A story")
    config = EngineConfig(corpus_dir=corpus, index_dir=blocker / "index")
    with pytest.raises(IndexStoreError, match="cannot write the index folder"):
        build_index(config, hash_embedder)
