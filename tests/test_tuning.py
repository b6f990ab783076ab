"""Process tuning happens only when a serving command asks for it."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest

from index import tuning
from index.corpus.stories import load_corpus
from index.embedding.embedder import Embedder
from index.engine import Engine


def test_making_an_engine_changes_nothing_global(small_corpus: Path, hash_embedder: Embedder) -> None:
    frozen = gc.get_freeze_count()
    Engine.from_corpus(load_corpus(small_corpus), hash_embedder)
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen


@pytest.mark.parametrize("variable", tuning.TUNING_VARIABLES)
def test_leaves_malloc_alone_when_the_environment_tunes_it(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "glibc.malloc.trim_threshold=1000000" if variable == "GLIBC_TUNABLES" else "1000000")
    tuning.keep_freed_memory_for_reuse.cache_clear()
    try:
        assert tuning.keep_freed_memory_for_reuse() is False
    finally:
        tuning.keep_freed_memory_for_reuse.cache_clear()


def test_freezing_keeps_what_is_loaded_out_of_full_collections() -> None:
    try:
        before = len(gc.get_objects())
        tuning.freeze_loaded_objects()
        assert gc.get_freeze_count() > 0
        assert len(gc.get_objects()) < before
    finally:
        gc.unfreeze()


def test_the_exit_hook_still_finalizes_garbage_cycles() -> None:
    class Node:
        other: Node | None = None

    finalized: list[str] = []
    gc.disable()  # so that only the hook can free the cycle
    try:
        a, b = Node(), Node()
        a.other, b.other = b, a
        weakref.finalize(a, finalized.append, "closed")
        del a, b
        assert finalized == []
        tuning.collect_once_before_exit()
        assert finalized == ["closed"]
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()
