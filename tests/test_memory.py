"""Freed memory is kept for reuse: a worker thread's next batch does not fault its pages in again."""

from __future__ import annotations

import gc
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from index import memory
from index.corpus import load_corpus
from index.embedding import Embedder
from index.engine import Engine

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# A worker thread allocates and frees four 1 MB arrays, four times over (a batch's pattern in
# miniature), and counts the page faults of its last round, before and after the tuning.
PROBE = """
import resource, threading
import numpy as np
from index.memory import keep_freed_memory_for_reuse

def faults_of_last_round():
    out = []
    def work():
        for _ in range(4):
            before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
            held = [np.ones(125_000) for _ in range(4)]
            del held
            after = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        out.append(after - before)
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    return out[0]

untuned = faults_of_last_round()
applied = keep_freed_memory_for_reuse()
print(untuned, applied, faults_of_last_round())
"""
PAGES = 4 * 1_000_000 // 4096


@pytest.mark.skipif(not GLIBC, reason="the tuning is for glibc's malloc")
def test_a_worker_thread_reuses_freed_memory_instead_of_faulting_it_in_again() -> None:
    env = {k: v for k, v in os.environ.items() if k not in memory.TUNING_VARIABLES}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=60, check=True)
    untuned, applied, tuned = done.stdout.split()
    assert applied == "True"
    assert int(untuned) > PAGES // 2  # glibc handed the pages back, and they were faulted in again
    assert int(tuned) < PAGES // 20


@pytest.mark.parametrize("variable", memory.TUNING_VARIABLES)
def test_leaves_malloc_alone_when_the_environment_tunes_it(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "glibc.malloc.trim_threshold=1000000" if variable == "GLIBC_TUNABLES" else "1000000")
    memory.keep_freed_memory_for_reuse.cache_clear()
    try:
        assert memory.keep_freed_memory_for_reuse() is False
    finally:
        memory.keep_freed_memory_for_reuse.cache_clear()



def test_an_opened_engine_leaves_full_collections_little_to_walk(small_corpus: Path, hash_embedder: Embedder) -> None:
    walked_before = len(gc.get_objects())
    Engine.from_corpus(load_corpus(small_corpus), hash_embedder)
    assert gc.get_freeze_count() > 0
    assert len(gc.get_objects()) < max(1000, walked_before // 10)
