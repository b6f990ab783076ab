"""The records database: schema, hashing, logging switch, votes, retention, stats."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from bot.records import DB_NAME, SCHEMA_VERSION, SECRET_NAME, Records, RecordsError, format_stats
from index.types import Answer, Quote


def make_answer(question: str, answered: bool = True) -> Answer:
    quote = Quote("They called it an insult.", "Insult story", "s.txt", 3, 10, 35, 0.8)
    return Answer(question, (quote,), 0.9 if answered else 0.1, 0.5, "abc123")


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def records(tmp_path: Path, clock: Clock) -> Records:
    recs = Records.open(tmp_path / "data", clock=clock)
    yield recs
    recs.close()


def test_schema_wal_and_secret(tmp_path: Path, records: Records) -> None:
    data = tmp_path / "data"
    db = sqlite3.connect(data / DB_NAME)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    mode = stat.S_IMODE((data / SECRET_NAME).stat().st_mode)
    assert mode == 0o600 and len((data / SECRET_NAME).read_bytes()) == 32


def test_user_ids_are_keyed_hashes(tmp_path: Path, records: Records) -> None:
    records.record_answer(
        answer_id="a" * 12, user_id=123456789012345678, via="slash", answer=make_answer("q"), latency=0.02
    )
    db = sqlite3.connect(tmp_path / "data" / DB_NAME)
    (user_hash,) = db.execute("SELECT user_hash FROM questions").fetchone()
    db.close()
    assert "123456789012345678" not in user_hash
    assert user_hash == records.user_hash(123456789012345678)
    other = Records.open(tmp_path / "other")
    assert other.user_hash(123456789012345678) != user_hash  # a secret per install
    other.close()


def test_reopen_keeps_secret_and_rows(tmp_path: Path, records: Records) -> None:
    records.record_answer(answer_id="b" * 12, user_id=1, via="dm", answer=make_answer("q"), latency=0.01)
    h = records.user_hash(1)
    records.close()
    again = Records.open(tmp_path / "data", clock=records._clock)
    assert again.user_hash(1) == h and again.stats().questions == 1
    again.close()


def test_stats_counts_unanswered_and_downvoted(records: Records) -> None:
    records.record_answer(answer_id="1" * 12, user_id=1, via="slash", answer=make_answer("who?"), latency=0.03)
    records.record_answer(answer_id="2" * 12, user_id=2, via="mention", answer=make_answer("cup?", False), latency=0.05)
    records.record_answer(answer_id="3" * 12, user_id=3, via="dm", answer=make_answer("cup?", False), latency=0.04)
    assert records.record_vote(answer_id="1" * 12, user_id=7, up=False) == "new"
    assert records.record_vote(answer_id="1" * 12, user_id=7, up=False) == "same"
    assert records.record_vote(answer_id="1" * 12, user_id=8, up=True) == "new"
    stats = records.stats()
    assert (stats.questions, stats.answered, stats.votes_up, stats.votes_down) == (3, 1, 1, 1)
    assert stats.unanswered[0].question == "cup?" and stats.unanswered[0].times == 2
    assert stats.downvoted[0].question == "who?" and stats.downvoted[0].citations == ("Insult story ¶3",)
    text = format_stats(stats)
    assert "Questions asked: 3" in text and "33%" in text and "2× cup?" in text and "who?" in text


def test_vote_is_changeable_one_per_person(records: Records) -> None:
    assert records.record_vote(answer_id="c" * 12, user_id=5, up=True) == "new"
    assert records.record_vote(answer_id="c" * 12, user_id=5, up=False) == "changed"
    stats = records.stats()
    assert (stats.votes_up, stats.votes_down) == (0, 1)


def test_logging_off_keeps_no_questions_but_votes(tmp_path: Path) -> None:
    recs = Records.open(tmp_path / "d", log_questions=False)
    assert (
        recs.record_answer(answer_id="d" * 12, user_id=1, via="slash", answer=make_answer("q"), latency=0.01) is False
    )
    recs.record_vote(answer_id="d" * 12, user_id=1, up=False)
    stats = recs.stats()
    assert stats.questions == 0 and stats.votes_down == 1
    text = format_stats(stats)
    assert "logging is off" in text and "question not logged" in text
    recs.close()


def test_retention_purges_old_records(tmp_path: Path, clock: Clock) -> None:
    recs = Records.open(tmp_path / "r", retention_days=1, clock=clock)
    recs.record_answer(answer_id="e" * 12, user_id=1, via="slash", answer=make_answer("old"), latency=0.01)
    recs.record_vote(answer_id="e" * 12, user_id=1, up=True)
    clock.now += 2 * 86400
    recs.record_answer(answer_id="f" * 12, user_id=1, via="slash", answer=make_answer("new"), latency=0.01)
    assert recs.purge() == 2  # the old question (its quotes cascade) and its vote
    stats = recs.stats()
    assert stats.questions == 1 and stats.votes_up == 0
    recs.close()


def test_format_stats_strips_control_characters(records: Records) -> None:
    records.record_answer(
        answer_id="9" * 12, user_id=1, via="dm", answer=make_answer("evil\x1b[31m?", False), latency=0.01
    )
    assert "\x1b" not in format_stats(records.stats())


def test_not_a_database(tmp_path: Path) -> None:
    data = tmp_path / "bad"
    data.mkdir()
    (data / DB_NAME).write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(RecordsError, match="not a usable records database"):
        Records.open(data)


def test_processes_starting_together_share_one_database_and_key(tmp_path: Path) -> None:
    """Bot and CLI may open a fresh data folder at the same moment: all succeed, with one key."""
    import threading

    for attempt in range(5):
        data = tmp_path / f"fresh-{attempt}"
        start = threading.Barrier(8)
        hashes: list[str] = []
        failures: list[BaseException] = []

        def open_together(
            data: Path = data,
            start: threading.Barrier = start,
            hashes: list[str] = hashes,
            failures: list[BaseException] = failures,
        ) -> None:
            start.wait()
            try:
                records = Records.open(data)
            except BaseException as exc:
                failures.append(exc)
                return
            hashes.append(records.user_hash(42))
            records.close()

        threads = [threading.Thread(target=open_together) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures, failures
        assert len(hashes) == 8 and len(set(hashes)) == 1
        assert sorted(p.name for p in data.iterdir() if not p.name.startswith(DB_NAME)) == [
            SECRET_NAME
        ]  # no key file left behind
