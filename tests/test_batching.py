"""The micro-batching queue: batches form, answers keep their question, errors stay local."""

from __future__ import annotations

from concurrent.futures import wait

import pytest

from index.batching import MicroBatcher
from index.errors import QuestionError
from index.types import Answer
from tests.doubles import EngineDouble


def echo(question: str, context: str | None, k: int) -> Answer | QuestionError:
    """Answers each question with itself (and its context and k); "explode" fails the whole batch."""
    if question == "explode":
        raise RuntimeError("engine failure")
    if not question.strip():
        return QuestionError("the question is empty")
    return Answer(question=f"{question}|{context}|{k}", quotes=(), confidence=1.0, threshold=0.5, corpus_hash="h")


def test_simultaneous_questions_share_a_batch_and_keep_their_answers() -> None:
    engine = EngineDouble(canned=echo)
    with MicroBatcher(engine, max_batch=64, max_wait=0.05) as batcher:
        futures = [batcher.submit(f"q{i}", context="ctx" if i % 2 else None) for i in range(40)]
        results = [f.result(timeout=5) for f in futures]
    assert [r.question for r in results] == [f"q{i}|{'ctx' if i % 2 else None}|3" for i in range(40)]
    assert len(engine.batches) < 40
    assert max(len(b) for b in engine.batches) > 1


def test_batches_never_exceed_the_limit() -> None:
    engine = EngineDouble(canned=echo, delay=0.01)
    with MicroBatcher(engine, max_batch=8, max_wait=0.02) as batcher:
        wait([batcher.submit(f"q{i}") for i in range(50)], timeout=10)
    assert max(len(b) for b in engine.batches) <= 8
    assert sum(len(b) for b in engine.batches) == 50


def test_a_bad_question_fails_alone() -> None:
    engine = EngineDouble(canned=echo)
    with MicroBatcher(engine, max_wait=0.05) as batcher:
        good, bad, other = batcher.submit("fine"), batcher.submit("  "), batcher.submit("also fine")
        assert good.result(timeout=5).question.startswith("fine")
        with pytest.raises(QuestionError):
            bad.result(timeout=5)
        assert other.result(timeout=5).question.startswith("also fine")


def test_an_engine_failure_is_retried_one_by_one_so_others_survive() -> None:
    engine = EngineDouble(canned=echo)
    with MicroBatcher(engine, max_wait=0.05) as batcher:
        good, boom = batcher.submit("fine"), batcher.submit("explode")
        assert good.result(timeout=5).question.startswith("fine")
        with pytest.raises(RuntimeError, match="engine failure"):
            boom.result(timeout=5)


def test_different_k_are_answered_separately() -> None:
    engine = EngineDouble(canned=echo)
    with MicroBatcher(engine, max_wait=0.05) as batcher:
        one, five = batcher.submit("a", k=1), batcher.submit("b", k=5)
        assert one.result(timeout=5).question.endswith("|1")
        assert five.result(timeout=5).question.endswith("|5")


def test_hot_swapped_engine_answers_the_next_batch() -> None:
    first, second = EngineDouble(canned=echo), EngineDouble(canned=echo)
    with MicroBatcher(first, max_wait=0.001) as batcher:
        batcher.submit("before").result(timeout=5)
        batcher.engine = second
        batcher.submit("after").result(timeout=5)
    assert first.batches == [["before"]] and second.batches == [["after"]]


def test_closed_batcher_refuses_new_questions() -> None:
    batcher = MicroBatcher(EngineDouble(canned=echo))
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
