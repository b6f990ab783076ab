"""The micro-batching queue: batches form, answers keep their question, errors stay local."""

from __future__ import annotations

import threading
import time
from concurrent.futures import wait

import pytest

from index.batching import MicroBatcher
from index.errors import QuestionError
from index.types import Answer


class RecordingEngine:
    """Answers each question with itself, records batch sizes, fails on demand."""

    def __init__(self, delay: float = 0.0) -> None:
        self.batches: list[list[str]] = []
        self.delay = delay
        self.lock = threading.Lock()

    def answer_many(
        self, questions: list[str], *, k: int = 3, contexts: list[str | None] | None = None
    ) -> list[Answer | QuestionError]:
        with self.lock:
            self.batches.append(list(questions))
        if any(q == "explode" for q in questions):
            raise RuntimeError("engine failure")
        time.sleep(self.delay)
        out: list[Answer | QuestionError] = []
        for q, c in zip(questions, contexts or [None] * len(questions)):
            if not q.strip():
                out.append(QuestionError("the question is empty"))
            else:
                out.append(Answer(question=f"{q}|{c}|{k}", quotes=(), confidence=1.0, threshold=0.5, corpus_hash="h"))
        return out


def test_simultaneous_questions_share_a_batch_and_keep_their_answers() -> None:
    engine = RecordingEngine()
    with MicroBatcher(engine, max_batch=64, max_wait=0.05) as batcher:
        futures = [batcher.submit(f"q{i}", context="ctx" if i % 2 else None) for i in range(40)]
        results = [f.result(timeout=5) for f in futures]
    assert [r.question for r in results] == [f"q{i}|{'ctx' if i % 2 else None}|3" for i in range(40)]
    assert len(engine.batches) < 40
    assert max(len(b) for b in engine.batches) > 1


def test_batches_never_exceed_the_limit() -> None:
    engine = RecordingEngine(delay=0.01)
    with MicroBatcher(engine, max_batch=8, max_wait=0.02) as batcher:
        wait([batcher.submit(f"q{i}") for i in range(50)], timeout=10)
    assert max(len(b) for b in engine.batches) <= 8
    assert sum(len(b) for b in engine.batches) == 50


def test_a_bad_question_fails_alone() -> None:
    engine = RecordingEngine()
    with MicroBatcher(engine, max_wait=0.05) as batcher:
        good, bad, other = batcher.submit("fine"), batcher.submit("  "), batcher.submit("also fine")
        assert good.result(timeout=5).question.startswith("fine")
        with pytest.raises(QuestionError):
            bad.result(timeout=5)
        assert other.result(timeout=5).question.startswith("also fine")


def test_an_engine_failure_is_retried_one_by_one_so_others_survive() -> None:
    engine = RecordingEngine()
    with MicroBatcher(engine, max_wait=0.05) as batcher:
        good, boom = batcher.submit("fine"), batcher.submit("explode")
        assert good.result(timeout=5).question.startswith("fine")
        with pytest.raises(RuntimeError, match="engine failure"):
            boom.result(timeout=5)


def test_different_k_are_answered_separately() -> None:
    engine = RecordingEngine()
    with MicroBatcher(engine, max_wait=0.05) as batcher:
        one, five = batcher.submit("a", k=1), batcher.submit("b", k=5)
        assert one.result(timeout=5).question.endswith("|1")
        assert five.result(timeout=5).question.endswith("|5")


def test_hot_swapped_engine_answers_the_next_batch() -> None:
    first, second = RecordingEngine(), RecordingEngine()
    with MicroBatcher(first, max_wait=0.001) as batcher:
        batcher.submit("before").result(timeout=5)
        batcher.engine = second
        batcher.submit("after").result(timeout=5)
    assert first.batches == [["before"]] and second.batches == [["after"]]


def test_closed_batcher_refuses_new_questions() -> None:
    batcher = MicroBatcher(RecordingEngine())
    batcher.close()
    with pytest.raises(RuntimeError, match="closed"):
        batcher.submit("late")


def test_real_engine_batches_match_single_answers(engine) -> None:  # type: ignore[no-untyped-def]
    questions = [
        "Who is the head of the NYPD sergeants union?",
        "What did Preet Bharara tweet?",
        "Who won the 2018 World Cup?",
    ]
    with MicroBatcher(engine, max_wait=0.05) as batcher:
        batched = [f.result(timeout=30) for f in [batcher.submit(q) for q in questions]]
    for question, answer in zip(questions, batched):
        single = engine.answer(question)
        assert [(q.paragraph, q.start, q.end) for q in answer.quotes] == [
            (q.paragraph, q.start, q.end) for q in single.quotes
        ]
        assert answer.answered == single.answered
