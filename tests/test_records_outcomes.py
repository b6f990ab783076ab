"""Records schema 2: each question's outcome and history, votes on unsure answers, the v1 → v2 migration."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from bot.records import _SCHEMA_V1, DB_NAME, SCHEMA_VERSION, Records, format_questions, format_stats
from index import ANSWERED, NOT_IN_STORY, UNSURE
from index.types import Answer, Quote

QUOTE = Quote("They called it an insult.", "Insult story", "s.txt", 3, 10, 35, 0.8)


def make(question: str, outcome: str) -> Answer:
    confidence, relevance = {ANSWERED: (0.9, 0.9), UNSURE: (0.1, 0.9), NOT_IN_STORY: (0.1, 0.0)}[outcome]
    return Answer(question, (QUOTE,), confidence, 0.5, "abc123", relevance=relevance, floor=0.3)


@pytest.fixture
def records(tmp_path: Path) -> Records:
    recs = Records.open(tmp_path / "data")
    yield recs
    recs.close()


def test_outcome_history_and_unsure_votes_are_recorded(records: Records) -> None:
    records.record_answer(answer_id="1" * 12, user_id=1, via="slash", answer=make("who?", ANSWERED), latency=0.01)
    records.record_answer(
        answer_id="2" * 12,
        user_id=1,
        via="follow_up",
        answer=make("and then?", UNSURE),
        latency=0.02,
        history=["first?", "who?"],
    )
    records.record_answer(answer_id="3" * 12, user_id=2, via="dm", answer=make("cup?", NOT_IN_STORY), latency=0.01)
    assert records.record_vote(answer_id="2" * 12, user_id=5, up=True, kind="unsure") == "new"
    assert records.record_vote(answer_id="2" * 12, user_id=5, up=True, kind="unsure") == "same"
    assert records.record_vote(answer_id="2" * 12, user_id=5, up=False, kind="unsure") == "changed"
    assert records.record_vote(answer_id="2" * 12, user_id=6, up=True, kind="unsure") == "new"
    records.record_vote(answer_id="1" * 12, user_id=5, up=True)
    with pytest.raises(ValueError):
        records.record_vote(answer_id="1" * 12, user_id=5, up=True, kind="other")

    stats = records.stats()
    assert (stats.questions, stats.answered, stats.unsure, stats.not_in_story) == (3, 1, 1, 1)
    assert (stats.votes_up, stats.votes_down, stats.answers_it, stats.does_not) == (1, 0, 1, 1)
    assert {(u.question, u.outcome) for u in stats.unanswered} == {("and then?", UNSURE), ("cup?", NOT_IN_STORY)}
    assert stats.judged[0].question == "and then?" and (stats.judged[0].answers_it, stats.judged[0].does_not) == (1, 1)
    text = format_stats(stats)
    assert "Unsure (closest passages shown): 1" in text and "Not in the story: 1" in text
    assert "1 answers it, 1 doesn't  and then?" in text and "[unsure]" in text

    assert records.conversation("2" * 12) == ["first?", "who?", "and then?"]
    assert records.conversation("1" * 12) == ["who?"] and records.conversation("f" * 12) is None
    rows = records.recent()
    assert [r.question for r in rows] == ["cup?", "and then?", "who?"]
    by_id = {r.answer_id: r for r in rows}
    assert by_id["2" * 12].outcome == UNSURE and by_id["2" * 12].history == ("first?", "who?")
    assert (by_id["2" * 12].up, by_id["2" * 12].down) == (1, 1) and by_id["1" * 12].votes_text() == "1 👍, 0 👎"
    assert [r.question for r in records.recent(outcome=UNSURE)] == ["and then?"]
    listing = format_questions(rows)
    assert "unsure" in listing and "after: first? → who?" in listing and "1 answers it, 1 doesn't" in listing


def test_a_schema_1_database_is_migrated_in_place(tmp_path: Path) -> None:
    data = tmp_path / "old"
    Records.open(data).close()  # makes the key; then the database is replaced by a v1 one
    (data / DB_NAME).unlink()
    db = sqlite3.connect(data / DB_NAME)
    db.executescript(_SCHEMA_V1)
    db.execute("INSERT INTO questions VALUES ('aaaaaaaaaaaa', 1e12, 'u', 'slash', 'who?', NULL, 1, 0.9, 10, 'h')")
    db.execute("INSERT INTO questions VALUES ('bbbbbbbbbbbb', 1e12, 'u', 'follow_up', 'and?', 'who?', 0, 0.1, 10, 'h')")
    db.execute("INSERT INTO votes VALUES ('aaaaaaaaaaaa', 'u', -1, 1e12)")
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()

    records = Records.open(data, retention_days=0)
    try:
        stats = records.stats()
        assert (stats.questions, stats.answered, stats.unsure, stats.not_in_story) == (2, 1, 0, 1)
        assert stats.votes_down == 1 and stats.downvoted[0].question == "who?"
        assert records.conversation("bbbbbbbbbbbb") == ["who?", "and?"]
        records.record_answer(
            answer_id="c" * 12, user_id=1, via="slash", answer=make("new?", UNSURE), latency=0.01, history=["x"]
        )
        assert records.recent(outcome=UNSURE)[0].history == ("x",)
    finally:
        records.close()
    db = sqlite3.connect(data / DB_NAME)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    assert db.execute("SELECT outcome FROM questions ORDER BY id").fetchall() == [
        ("answered",),
        ("not_in_story",),
        ("unsure",),
    ]
    assert db.execute("SELECT kind FROM votes").fetchall() == [("thumbs",)]
    assert json.loads(db.execute("SELECT history FROM questions WHERE id = ?", ("c" * 12,)).fetchone()[0]) == ["x"]
    db.close()
    Records.open(data).close()  # opening again changes nothing


def test_a_context_alone_still_records_as_a_one_question_history(records: Records) -> None:
    records.record_answer(
        answer_id="d" * 12, user_id=1, via="follow_up", answer=make("q?", ANSWERED), latency=0.01, context="before?"
    )
    assert records.conversation("d" * 12) == ["before?", "q?"]
    assert records.recent()[0].history == ("before?",)
