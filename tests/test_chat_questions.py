"""Questions typed the way people type in chat, with the paragraph that must come first:
lowercase, typos, shorthand, paraphrase, mentions, follow-ups.

Two sets, one object per line (`question`, optional `history` oldest first, and the
`paragraphs` any of which may come first): tests/data/chat_bundled.jsonl about the bundled
story, and tests/data/chat_oil_crisis.jsonl about another kind of story (the SQuAD article
"1973 oil crisis" of the dev subset), written without tuning on it, to check that what works
on the bundled story is not made for it. The floors keep what the engine reaches from slipping.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index import NOT_IN_STORY, Engine
from index.embedding.embedder import SentenceTransformerEmbedder
from index.heads import Heads
from index.quality.qa import load_qa_set

DATA = Path(__file__).parent / "data"
CHAT_SET = DATA / "chat_bundled.jsonl"
OTHER_SET = DATA / "chat_oil_crisis.jsonl"
FIRST_RIGHT_FLOOR = {CHAT_SET: 0.85, OTHER_SET: 0.85}
MAX_NOT_IN_STORY = 2


def chat_questions(path: Path = CHAT_SET) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize(("path", "size"), [(CHAT_SET, 60), (OTHER_SET, 30)])
def test_the_sets_are_large_and_well_formed(path: Path, size: int) -> None:
    rows = chat_questions(path)
    assert len(rows) >= size
    assert sum(1 for r in rows if r.get("history")) >= 3
    for row in rows:
        assert isinstance(row["question"], str) and row["question"].strip()
        assert row["paragraphs"] and all(isinstance(p, int) and p >= 1 for p in row["paragraphs"])  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def other_engine(embedder: SentenceTransformerEmbedder, heads: Heads) -> Engine:
    """The oil-crisis story alone, with the heads as they ship."""
    story = load_qa_set(DATA / "qa_dev_subset").corpus_of("1973_oil_crisis")
    return Engine.from_corpus(story, embedder, heads=heads)


def test_chat_questions_are_answered_from_the_right_paragraph(engine: Engine) -> None:
    _check_set(engine, CHAT_SET)


def test_chat_questions_about_another_story_too(other_engine: Engine) -> None:
    _check_set(other_engine, OTHER_SET)


def _check_set(engine: Engine, path: Path) -> None:
    rows = chat_questions(path)
    right, misses, not_in_story = 0, [], []
    answers = engine.answer_many(
        [str(row["question"]) for row in rows],
        histories=[list(row.get("history") or []) for row in rows],  # type: ignore[call-overload]
    )
    for row, answer in zip(rows, answers):
        assert not isinstance(answer, Exception), (row, answer)
        first = answer.quotes[0].paragraph if answer.quotes else None
        if first in row["paragraphs"]:  # type: ignore[operator]
            right += 1
        else:
            misses.append((row["question"], first, row["paragraphs"]))
        if answer.outcome == NOT_IN_STORY:
            not_in_story.append(row["question"])
    assert right / len(rows) >= FIRST_RIGHT_FLOOR[path], misses
    assert len(not_in_story) <= MAX_NOT_IN_STORY, not_in_story


@pytest.mark.parametrize(
    ("question", "history", "paragraph"),
    [
        ("what did the union say?", ["what did the mayor call the statement"], 12),
        ("what did he say about ICE", ["who is ed mullins"], 14),
    ],
)
def test_a_follow_up_stays_on_its_own_topic(engine: Engine, question: str, history: list[str], paragraph: int) -> None:
    alone = engine.answer(question, history=history)
    assert alone.quotes[0].paragraph in (paragraph, paragraph + 1)
    assert alone.outcome != NOT_IN_STORY


def test_a_mention_does_not_change_the_answer(engine: Engine) -> None:
    plain = engine.answer("who is Ed Mullins?")
    noisy = engine.answer("@everyone who is Ed Mullins? <@&123456789012345678>")
    assert noisy.question == "who is Ed Mullins?"
    assert noisy.quotes == plain.quotes
    assert noisy.outcome == plain.outcome
