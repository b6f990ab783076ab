"""Test doubles: a fast fake embedder and one configurable stand-in for the engine.

Importable anywhere, child-process scripts included (no fixtures, no pytest hooks, no temp dirs).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from index.embedding.embedder import Embedder

if TYPE_CHECKING:
    from index import Engine
    from index.errors import QuestionError
    from index.store.build import BuildReport
    from index.types import Answer, StorySummary

    Canned = Callable[[str, str | None, int], Answer | QuestionError]
    """Answers one question (question, context, k); raising fails the whole batch, as the engine would."""


class HashEmbedder(Embedder):
    """Deterministic bag-of-words vectors: fast stand-in for store and build tests."""

    model_id = "test/hash-embedder"
    dimension = 64

    def __init__(self, fail_after: int | None = None) -> None:
        self.calls = 0
        self.texts_embedded = 0
        self.fail_after = fail_after

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise RuntimeError("simulated failure in the middle of a build")
        self.texts_embedded += len(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
            out[row, 0] += 0.01
        return out


class EngineDouble:
    """A stand-in for `index.Engine`, configured per test by its constructor.

    With `inner` (usually the real engine) it delegates answers, `rebuilt` and every attribute it
    does not define itself to `inner`. Without, `canned` answers each question, and `corpus_hash`,
    `stories` and `paragraphs` stand in for the corpus (`story()`, `paragraph_text()`).

    `answer_many`, step by step:
      1. while `hold` is clear (`held=True` starts it clear), sets `waiting` and waits for `hold`
         (at most `wait_timeout` seconds);
      2. records the batch's questions in `batches`;
      3. raises `raises`, if given;
      4. sleeps `delay` seconds;
      5. answers: `inner.answer_many(...)`, else `canned(question, context, k)` for each question
         (`context`: the latest earlier question, or None).

    `rebuilt(**kwargs)` counts itself in `rebuilds`, returns `rebuild(self)` if given (a canned
    rebuild, at once) or else `inner.rebuilt(**kwargs)`, after waiting (at most `wait_timeout`
    seconds) for `rebuild_gate` if one is given.
    """

    def __init__(
        self,
        inner: Engine | None = None,
        *,
        canned: Canned | None = None,
        delay: float = 0.0,
        raises: Exception | None = None,
        held: bool = False,
        rebuild: Callable[[EngineDouble], tuple[Any, BuildReport]] | None = None,
        rebuild_gate: threading.Event | None = None,
        wait_timeout: float = 60.0,
        corpus_hash: str = "0123456789",
        stories: Sequence[StorySummary] = (),
        paragraphs: Mapping[tuple[str, int], str] | None = None,
    ) -> None:
        self.inner = inner
        self.canned = canned
        self.delay = delay
        self.raises = raises
        self.rebuild = rebuild
        self.rebuild_gate = rebuild_gate
        self.wait_timeout = wait_timeout
        self.hold = threading.Event()
        if not held:
            self.hold.set()
        self.waiting = threading.Event()
        self.batches: list[list[str]] = []
        self.rebuilds = 0
        self._lock = threading.Lock()
        if inner is None:  # with an inner engine, these come from it
            self.corpus_hash = corpus_hash
            self.stories = tuple(stories)
            self.paragraphs = dict(paragraphs or {})

    def answer_many(
        self,
        questions: Sequence[str],
        *,
        k: int = 3,
        histories: Sequence[Sequence[str]] | None = None,
    ) -> list[Answer | QuestionError]:
        if not self.hold.is_set():
            self.waiting.set()
            self.hold.wait(self.wait_timeout)
        with self._lock:
            self.batches.append(list(questions))
        if self.raises is not None:
            raise self.raises.with_traceback(None)
        if self.delay:
            time.sleep(self.delay)
        if histories is None:
            histories = [[] for _ in questions]
        if self.inner is not None:
            return self.inner.answer_many(questions, k=k, histories=histories)
        if self.canned is None:
            raise AssertionError("EngineDouble needs `inner` or `canned` to answer")
        return [self.canned(q, h[-1] if h else None, k) for q, h in zip(questions, histories)]

    def rebuilt(self, **kwargs: Any) -> tuple[Any, BuildReport]:
        with self._lock:
            self.rebuilds += 1
        if self.rebuild is not None:
            result = self.rebuild(self)
        elif self.inner is not None:
            result = self.inner.rebuilt(**kwargs)
        else:
            raise AssertionError("EngineDouble needs `inner` or `rebuild` to rebuild")
        if self.rebuild_gate is not None:
            self.rebuild_gate.wait(self.wait_timeout)
        return result

    def story(self, file: str) -> StorySummary | None:
        if self.inner is not None:
            return self.inner.story(file)
        return next((s for s in self.stories if s.file == file), None)

    def paragraph_text(self, file: str, paragraph: int) -> str | None:
        if self.inner is not None:
            return self.inner.paragraph_text(file, paragraph)
        return self.paragraphs.get((file, paragraph))

    def __getattr__(self, name: str) -> Any:
        inner = self.__dict__.get("inner")
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)
