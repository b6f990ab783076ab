"""Micro-batching: questions that arrive together share one forward pass of the model.

A worker thread waits for the first question, then collects more for a few milliseconds (or
until the batch is full) and answers them with one `Engine.answer_many` call. Callers get a
`concurrent.futures.Future` each (asyncio callers wrap it), resolved in any order but each with
its own answer or its own error: one bad question never fails the others. A question may name
the engine that answers it (each server its own); questions for one engine share a batch.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Protocol

from index.errors import QuestionError
from index.types import Answer

log = logging.getLogger(__name__)


class Answerer(Protocol):
    def answer_many(
        self, questions: list[str], *, k: int = 3, histories: list[list[str]] | None = None
    ) -> list[Answer | QuestionError]: ...


@dataclass(slots=True)
class _Request:
    question: str
    k: int
    history: list[str]  # the conversation's earlier questions, oldest first
    engine: Answerer | None = None  # None: the batcher's own engine
    future: Future[Answer] = field(default_factory=Future)


_STOP = object()


class MicroBatcher:
    """Collects questions for up to `max_wait` seconds or `max_batch` questions, then answers them together."""

    def __init__(self, engine: Answerer, *, max_batch: int = 64, max_wait: float = 0.004) -> None:
        self.engine = engine  # replace to hot-swap; the next batch uses the new one
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.batches = 0
        self.answered = 0
        self._queue: queue.SimpleQueue[_Request | object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="storybot-batcher", daemon=True)
        self._closed = False
        self._thread.start()

    def submit(
        self,
        question: str,
        *,
        k: int = 3,
        history: Sequence[str] = (),
        context: str | None = None,
        engine: Answerer | None = None,
    ) -> Future[Answer]:
        """`history` (oldest first) or `context` (one earlier question) make the question a follow-up;
        `engine` answers it instead of the batcher's own (read when its batch starts otherwise)."""
        if self._closed:
            raise RuntimeError("the batcher is closed")
        request = _Request(question, k, list(history) or ([context] if context else []), engine)
        self._queue.put(request)
        return request.future

    def close(self, timeout: float = 5.0) -> None:
        """Answer what is queued, then stop the worker."""
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join(timeout)

    def __enter__(self) -> MicroBatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _collect(self, first: _Request) -> tuple[list[_Request], bool]:
        batch = [first]
        deadline = time.monotonic() + self.max_wait
        while len(batch) < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            batch.append(item)  # type: ignore[arg-type]
        return batch, False

    def _run(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is _STOP:
                break
            batch, stopping = self._collect(item)  # type: ignore[arg-type]
            self._answer(batch)
        while True:  # fail anything submitted after close instead of leaving it hanging
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Request) and not item.future.done():
                item.future.set_exception(RuntimeError("the batcher is closed"))

    def _answer(self, batch: list[_Request]) -> None:
        live = [r for r in batch if r.future.set_running_or_notify_cancel()]
        if not live:
            return
        default = self.engine
        groups: dict[tuple[int, int], tuple[Answerer, list[_Request]]] = {}
        for request in live:
            engine = request.engine or default
            groups.setdefault((id(engine), request.k), (engine, []))[1].append(request)
        for (_, k), (engine, requests) in groups.items():
            results: list[Answer | BaseException]
            try:
                results = list(
                    engine.answer_many([r.question for r in requests], k=k, histories=[r.history for r in requests])
                )
            except Exception:
                log.exception("A batch of %d questions failed; answering them one by one", len(requests))
                results = [self._answer_one(engine, r) for r in requests]
            for request, result in zip(requests, results, strict=True):
                if isinstance(result, BaseException):
                    request.future.set_exception(result)
                else:
                    request.future.set_result(result)
        self.batches += 1
        self.answered += len(live)

    @staticmethod
    def _answer_one(engine: Answerer, request: _Request) -> Answer | BaseException:
        try:
            return engine.answer_many([request.question], k=request.k, histories=[request.history])[0]
        except Exception as exc:
            return exc
