"""The records database: questions with their outcome, the quotes given, latency and votes, for `storybot stats`.

SQLite in WAL mode in `STORYBOT_DATA_DIR`. User ids are stored only as an HMAC keyed with a
secret generated per install (so ids cannot be looked up); question logging can be turned off
(votes are still kept); old records are purged after `STORYBOT_RETENTION_DAYS`. Methods block:
the bot calls them through `asyncio.to_thread`. Pure module: no discord import.

Schema 2 (migrated in place from 1; the figures' dataclasses and text are in `bot.record_report`):
each question has its `outcome` (answered, unsure, not_in_story; schema-1 rows get what they
showed: answered, or the "doesn't answer" card) and the `history` of a follow-up (a JSON list of
the earlier questions, oldest first; `context` keeps the latest of them); each vote has its
`kind`: "thumbs" (👍/👎 on an answer) or "unsure" ("This answers it"/"It doesn't").

Schema 3 adds `story_changes`, the admin log of stories added, updated and removed (see
`bot.story_log`): it names who made each change and is kept until deleted (no retention purge).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from bot.history import MAX_HISTORY
from bot.record_report import (
    DownvotedAnswer,
    JudgedAnswer,
    QuestionRecord,
    RecordStats,
    UnansweredQuestion,
    format_questions,
    format_stats,
)
from bot.story_log import StoryChangeRecord
from index.errors import StorybotError
from index.types import Answer

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = [  # the figures' types and text are re-exported from bot.record_report
    "DB_NAME", "SCHEMA_VERSION", "SECRET_NAME", "DownvotedAnswer", "JudgedAnswer", "QuestionRecord", "RecordStats",
    "Records", "RecordsError", "UnansweredQuestion", "format_questions", "format_stats",
]  # fmt: skip

SCHEMA_VERSION = 3
DB_NAME = "records.sqlite3"
SECRET_NAME = "records.key"

_SCHEMA_V1 = """
CREATE TABLE questions (
    id TEXT PRIMARY KEY,
    asked_at REAL NOT NULL,
    user_hash TEXT NOT NULL,
    via TEXT NOT NULL,
    question TEXT NOT NULL,
    context TEXT,
    answered INTEGER NOT NULL CHECK (answered IN (0, 1)),
    confidence REAL NOT NULL,
    latency_ms REAL NOT NULL,
    corpus_hash TEXT NOT NULL
);
CREATE INDEX questions_asked_at ON questions (asked_at);
CREATE TABLE quotes (
    question_id TEXT NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    rank INTEGER NOT NULL,
    story TEXT NOT NULL,
    file TEXT NOT NULL,
    paragraph INTEGER NOT NULL,
    span_start INTEGER NOT NULL,
    span_end INTEGER NOT NULL,
    score REAL NOT NULL,
    PRIMARY KEY (question_id, rank)
);
CREATE TABLE votes (
    answer_id TEXT NOT NULL,
    user_hash TEXT NOT NULL,
    vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    voted_at REAL NOT NULL,
    PRIMARY KEY (answer_id, user_hash)
);
CREATE INDEX votes_voted_at ON votes (voted_at);
"""
_SCHEMA_V2 = """
ALTER TABLE questions ADD COLUMN outcome TEXT NOT NULL DEFAULT 'not_in_story'
    CHECK (outcome IN ('answered', 'unsure', 'not_in_story'));
UPDATE questions SET outcome = 'answered' WHERE answered = 1;
ALTER TABLE questions ADD COLUMN history TEXT;
ALTER TABLE votes ADD COLUMN kind TEXT NOT NULL DEFAULT 'thumbs' CHECK (kind IN ('thumbs', 'unsure'));
CREATE INDEX questions_outcome ON questions (outcome, asked_at);
"""
_SCHEMA_V3 = """
CREATE TABLE story_changes (
    id INTEGER PRIMARY KEY,
    changed_at REAL NOT NULL,
    who TEXT NOT NULL,
    who_name TEXT,
    scope TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('add', 'update', 'remove')),
    title TEXT NOT NULL,
    file TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    origin TEXT
);
CREATE INDEX story_changes_changed_at ON story_changes (changed_at);
"""
_MIGRATIONS = {1: _SCHEMA_V1, 2: _SCHEMA_V2, 3: _SCHEMA_V3}
"""The statements that bring a database from the version before each key to that version."""


class RecordsError(StorybotError):
    """The records database cannot be used; the message says which file and why."""


def _earlier(context: str | None, history: str | None) -> tuple[str, ...]:
    """A stored follow-up's earlier questions: its JSON `history`, else its one `context`."""
    try:
        earlier = json.loads(history) if history else [context]
    except ValueError:
        earlier = [context]
    return tuple(h for h in earlier if isinstance(h, str) and h) if isinstance(earlier, list) else ()


def _load_secret(path: Path) -> bytes:
    """The per-install HMAC key, created with 0600 permissions on first use.

    A new key is written in full to a file of its own, then linked into place: a process
    starting at the same moment reads either no key or the whole key, never half of one.
    """
    if not path.exists():
        temp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(32))
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another process's key won; use theirs
                os.link(temp, path)
        finally:
            temp.unlink(missing_ok=True)
    secret = path.read_bytes()
    if len(secret) < 16:
        raise RecordsError(f"{path}: the records key is damaged; delete it (user hashes will change)")
    return secret


class Records:
    """One records database. Thread-safe: the bot calls it from worker threads."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        secret: bytes,
        *,
        log_questions: bool = True,
        retention_days: int = 90,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = connection
        self._secret = secret
        self._lock = threading.Lock()
        self.log_questions = log_questions
        self.retention_days = retention_days
        self._clock = clock

    @classmethod
    def open(
        cls,
        data_dir: Path,
        *,
        log_questions: bool = True,
        retention_days: int = 90,
        clock: Callable[[], float] = time.time,
    ) -> Records:
        """Open (creating on first run) the database in `data_dir`, then purge expired records."""
        try:
            data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            secret = _load_secret(data_dir / SECRET_NAME)
            connection = sqlite3.connect(data_dir / DB_NAME, isolation_level=None, check_same_thread=False, timeout=10)
        except OSError as exc:
            raise RecordsError(
                f"{data_dir}: cannot open the records ({exc.strerror or exc.__class__.__name__})"
            ) from None
        records = cls(connection, secret, log_questions=log_questions, retention_days=retention_days, clock=clock)
        try:
            records._migrate_when_free()
        except sqlite3.DatabaseError as exc:
            connection.close()
            raise RecordsError(f"{data_dir / DB_NAME}: not a usable records database ({exc})") from None
        records.purge()
        return records

    @classmethod
    def from_settings(cls, settings: Settings) -> Records:
        """Open the records the settings point at."""
        return cls.open(settings.data_dir, log_questions=settings.log_questions, retention_days=settings.retention_days)

    def _migrate_when_free(self, patience: float = 10.0) -> None:
        """Migrate, waiting while another process does the same.

        Switching a fresh file to WAL can report "database is locked" at once, without
        waiting for the busy timeout, while another process is switching it too.
        """
        deadline = time.monotonic() + patience
        while True:
            try:
                self._migrate()
                return
            except sqlite3.OperationalError as exc:
                contended = "locked" in str(exc) or "busy" in str(exc)
                if not contended or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _migrate(self) -> None:
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA synchronous=NORMAL")
            with self._transaction():  # read and create under one lock: processes may start together
                version = self._db.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise RecordsError(f"the records database is from a newer storybot (schema {version})")
                for step in range(version + 1, SCHEMA_VERSION + 1):
                    for statement in _MIGRATIONS[step].split(";"):
                        if statement.strip():
                            self._db.execute(statement)
                if version < SCHEMA_VERSION:
                    self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def user_hash(self, user_id: int) -> str:
        """A keyed hash of a Discord user id: stable per install, useless without the key."""
        return hmac.new(self._secret, str(user_id).encode(), hashlib.sha256).hexdigest()[:32]

    def record_answer(
        self,
        *,
        answer_id: str,
        user_id: int,
        via: str,
        answer: Answer,
        latency: float,
        context: str | None = None,
        history: Sequence[str] = (),
    ) -> bool:
        """Store a question, its outcome, its earlier questions and the quotes given, atomically.

        `history` (oldest first) or `context` (one earlier question) make it a follow-up.
        Returns False when question logging is off.
        """
        if not self.log_questions:
            return False
        earlier = [h for h in history if h][-MAX_HISTORY:] if history else [context] if context else []
        context = earlier[-1] if history and earlier else context
        with self._lock, self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO questions (id, asked_at, user_hash, via, question, context, answered,"
                " confidence, latency_ms, corpus_hash, outcome, history) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    answer_id, self._clock(), self.user_hash(user_id), via, answer.question,
                    context, int(answer.answered), float(answer.confidence),
                    latency * 1000.0, answer.corpus_hash, answer.outcome,
                    json.dumps(earlier, ensure_ascii=False) if earlier else None,
                ),
            )  # fmt: skip
            self._db.executemany(
                "INSERT INTO quotes (question_id, rank, story, file, paragraph, span_start, span_end, score)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (answer_id, rank, q.story, q.file, q.paragraph, q.start, q.end, float(q.score))
                    for rank, q in enumerate(answer.quotes)
                ],
            )
        return True

    def record_vote(self, *, answer_id: str, user_id: int, up: bool, kind: str = "thumbs") -> str:
        """One vote per person per answer, changeable: returns "new", "changed" or "same".

        `kind` is "thumbs" (👍/👎) or "unsure" ("This answers it" is up, "It doesn't" down).
        """
        if kind not in ("thumbs", "unsure"):
            raise ValueError(f"not a kind of vote: {kind!r}")
        vote = 1 if up else -1
        user = self.user_hash(user_id)
        with self._lock, self._transaction():
            row = self._db.execute(
                "SELECT vote, kind FROM votes WHERE answer_id = ? AND user_hash = ?", (answer_id, user)
            ).fetchone()
            if row is not None and (row[0], row[1]) == (vote, kind):
                return "same"
            self._db.execute(
                "INSERT INTO votes (answer_id, user_hash, vote, voted_at, kind) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (answer_id, user_hash) DO UPDATE SET vote = excluded.vote,"
                " voted_at = excluded.voted_at, kind = excluded.kind",
                (answer_id, user, vote, self._clock(), kind),
            )
        return "new" if row is None else "changed"

    def conversation(self, answer_id: str) -> list[str] | None:
        """The questions that led to an answer, oldest first, ending with its own; None if not recorded."""
        with self._lock:
            row = self._db.execute(
                "SELECT question, context, history FROM questions WHERE id = ?", (answer_id,)
            ).fetchone()
        if row is None:
            return None
        question, context, history = row
        return [*_earlier(context, history), question][-(MAX_HISTORY + 1) :]

    def purge(self, now: float | None = None) -> int:
        """Delete records older than the retention period; returns how many rows went."""
        if self.retention_days <= 0:
            return 0
        cutoff = (self._clock() if now is None else now) - self.retention_days * 86400
        with self._lock, self._transaction():
            gone = self._db.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,)).rowcount
            gone += self._db.execute("DELETE FROM votes WHERE voted_at < ?", (cutoff,)).rowcount
        return gone

    def _citations(self, answer_id: str) -> tuple[str, ...]:
        return tuple(
            f"{story} ¶{paragraph}"
            for story, paragraph in self._db.execute(
                "SELECT story, paragraph FROM quotes WHERE question_id = ? ORDER BY rank", (answer_id,)
            )
        )

    def _question(self, answer_id: str) -> str | None:
        row = self._db.execute("SELECT question FROM questions WHERE id = ?", (answer_id,)).fetchone()
        return row[0] if row else None

    def stats(self, limit: int = 10) -> RecordStats:
        """What the records hold, for `storybot stats`."""
        with self._lock:
            db = self._db
            questions, answered, unsure, missing = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(answered), 0), COALESCE(SUM(outcome = 'unsure'), 0),"
                " COALESCE(SUM(outcome = 'not_in_story'), 0) FROM questions"
            ).fetchone()
            up, down, yes, no = db.execute(
                "SELECT COALESCE(SUM(vote = 1 AND kind = 'thumbs'), 0),"
                " COALESCE(SUM(vote = -1 AND kind = 'thumbs'), 0), COALESCE(SUM(vote = 1 AND kind = 'unsure'), 0),"
                " COALESCE(SUM(vote = -1 AND kind = 'unsure'), 0) FROM votes"
            ).fetchone()
            latencies = [r[0] for r in db.execute("SELECT latency_ms FROM questions ORDER BY latency_ms")]
            unanswered = tuple(
                UnansweredQuestion(q, n, last, outcome)
                for q, outcome, n, last in db.execute(
                    "SELECT question, outcome, COUNT(*), MAX(asked_at) FROM questions WHERE answered = 0"
                    " GROUP BY question, outcome ORDER BY COUNT(*) DESC, MAX(asked_at) DESC LIMIT ?",
                    (limit,),
                )
            )
            downvoted = tuple(
                DownvotedAnswer(answer_id, self._question(answer_id), self._citations(answer_id), downs, ups)
                for answer_id, downs, ups in db.execute(
                    "SELECT answer_id, SUM(vote = -1), SUM(vote = 1) FROM votes WHERE kind = 'thumbs'"
                    " GROUP BY answer_id HAVING SUM(vote = -1) > 0"
                    " ORDER BY SUM(vote = -1) DESC, MAX(voted_at) DESC LIMIT ?",
                    (limit,),
                ).fetchall()
            )
            judged = tuple(
                JudgedAnswer(answer_id, self._question(answer_id), self._citations(answer_id), ups, downs)
                for answer_id, ups, downs in db.execute(
                    "SELECT answer_id, SUM(vote = 1), SUM(vote = -1) FROM votes WHERE kind = 'unsure'"
                    " GROUP BY answer_id ORDER BY MAX(voted_at) DESC LIMIT ?",
                    (limit,),
                ).fetchall()
            )
        median = latencies[len(latencies) // 2] if latencies else None
        return RecordStats(
            questions, answered, up, down, unanswered, downvoted, self.log_questions, median,
            unsure, missing, yes, no, judged,
        )  # fmt: skip

    def recent(self, limit: int = 20, outcome: str | None = None) -> tuple[QuestionRecord, ...]:
        """The latest recorded questions, newest first (only those of one outcome, if given), with their votes."""
        with self._lock:
            rows = self._db.execute(
                "SELECT q.id, q.asked_at, q.via, q.question, q.outcome, q.confidence, q.context, q.history,"
                " COALESCE(SUM(v.vote = 1), 0), COALESCE(SUM(v.vote = -1), 0)"
                " FROM questions q LEFT JOIN votes v ON v.answer_id = q.id"
                " WHERE ? IS NULL OR q.outcome = ? GROUP BY q.id ORDER BY q.asked_at DESC, q.rowid DESC LIMIT ?",
                (outcome, outcome, limit),
            ).fetchall()
            found = []
            for answer_id, asked_at, via, question, kind, confidence, context, history, up, down in rows:
                earlier, cites = _earlier(context, history), self._citations(answer_id)
                found.append(
                    QuestionRecord(answer_id, asked_at, via, question, kind, confidence, earlier, cites, up, down)
                )
        return tuple(found)

    def record_story_change(
        self,
        *,
        who: str,
        who_name: str | None,
        scope: str,
        action: str,
        title: str,
        file: str,
        content_hash: str,
        origin: str | None,
    ) -> None:
        """Log one story change (`scope`: "shared" or a server id); kept whatever STORYBOT_LOG_QUESTIONS says."""
        with self._lock, self._transaction():
            self._db.execute(
                "INSERT INTO story_changes (changed_at, who, who_name, scope, action, title, file, content_hash,"
                " origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self._clock(), who, who_name, scope, action, title, file, content_hash, origin),
            )

    def story_log(self, limit: int = 50, scope: str | None = None) -> tuple[StoryChangeRecord, ...]:
        """The latest story changes, newest first (only one scope's, if given)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT changed_at, who, who_name, scope, action, title, file, content_hash, origin"
                " FROM story_changes WHERE ? IS NULL OR scope = ? ORDER BY changed_at DESC, id DESC LIMIT ?",
                (scope, scope, limit),
            ).fetchall()
        return tuple(StoryChangeRecord(*row) for row in rows)

    def close(self) -> None:
        with self._lock:
            self._db.close()
