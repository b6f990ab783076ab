"""Questions typed the way people type in chat, about the bundled story, with the paragraph
that must come first: lowercase, typos, shorthand, paraphrase, mentions, follow-ups.

The set lives in tests/data/chat_bundled.jsonl (one object per line: `question`, optional
`history` oldest first, and the `paragraphs` any of which may come first). The floors here
keep what the engine reaches from slipping.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index import NOT_IN_STORY, Engine

CHAT_SET = Path(__file__).parent / "data" / "chat_bundled.jsonl"
FIRST_RIGHT_FLOOR = 0.85
MAX_NOT_IN_STORY = 2


def chat_questions() -> list[dict[str, object]]:
    return [json.loads(line) for line in CHAT_SET.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_set_is_large_and_well_formed() -> None:
    rows = chat_questions()
    assert len(rows) >= 60
    assert sum(1 for r in rows if r.get("history")) >= 5
    for row in rows:
        assert isinstance(row["question"], str) and row["question"].strip()
        assert row["paragraphs"] and all(isinstance(p, int) and p >= 1 for p in row["paragraphs"])  # type: ignore[union-attr]


def test_chat_questions_are_answered_from_the_right_paragraph(engine: Engine) -> None:
    rows = chat_questions()
    right, misses, not_in_story = 0, [], []
    for row in rows:
        answer = engine.answer(str(row["question"]), history=list(row.get("history") or []))  # type: ignore[call-overload]
        first = answer.quotes[0].paragraph if answer.quotes else None
        if first in row["paragraphs"]:  # type: ignore[operator]
            right += 1
        else:
            misses.append((row["question"], first, row["paragraphs"]))
        if answer.outcome == NOT_IN_STORY:
            not_in_story.append(row["question"])
    assert right / len(rows) >= FIRST_RIGHT_FLOOR, misses
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
