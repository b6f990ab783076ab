"""A build killed with SIGKILL at any point leaves the previous index loadable, and the next
build removes what the killed one left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index import Engine, EngineConfig, build_index
from index.store.generations import current_generation
from tests.doubles import HashEmbedder
from tests.helpers import write_story

REPO = Path(__file__).resolve().parent.parent

KILLED_BUILD = r"""
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
import index.store.build
from index import EngineConfig, build_index
from tests.doubles import HashEmbedder

stage = sys.argv[4]
class Slow(HashEmbedder):
    def embed_batch(self, texts):
        if stage == "embedding":
            print("ready", flush=True)
            time.sleep(60)
        return super().embed_batch(texts)

original = index.store.build.write_generation
def slow_write(build_dir, **kwargs):
    (build_dir / "meta.json").write_bytes(b'{"stories": [')  # half a file, as a crash leaves it
    print("ready", flush=True)
    time.sleep(60)
    original(build_dir, **kwargs)

if stage == "writing":
    index.store.build.write_generation = slow_write
build_index(EngineConfig(corpus_dir=Path(sys.argv[1]), index_dir=Path(sys.argv[2])), Slow())
"""


@pytest.mark.parametrize("stage", ["embedding", "writing"])
def test_sigkill_mid_build_leaves_the_old_index_serving(small_corpus: Path, tmp_path: Path, stage: str) -> None:
    config = EngineConfig(corpus_dir=small_corpus, index_dir=tmp_path / "index")
    build_index(config, HashEmbedder())
    before = current_generation(config.index_dir)
    write_story(small_corpus, "bridge.txt", "The bridge closes in May.\n", title="Bridge")
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_BUILD, str(small_corpus), str(config.index_dir), str(REPO), stage],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    served = Engine.open(config, build="never", embedder=HashEmbedder())
    assert served.data.path == before
    assert served.story("bridge.txt") is None and served.answer("when does the harbour reopen").quotes
    leftovers = [p for p in config.index_dir.iterdir() if p.name.startswith(".build-")]
    assert len(leftovers) == (1 if stage == "writing" else 0)

    deadline = time.monotonic() + 10
    while True:  # the lock file of a killed process is free at once (flock dies with it)
        try:
            report = build_index(config, HashEmbedder())
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    assert not [p for p in config.index_dir.iterdir() if p.name.startswith(".build-")]
    assert Engine.open(config, build="never", embedder=HashEmbedder()).story("bridge.txt") is not None
    assert report.path == current_generation(config.index_dir)
