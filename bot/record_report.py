"""What the records hold, as figures and as text for editors: `storybot stats` and `storybot questions`.

Pure module: plain dataclasses (`bot.records` fills them) and their plain-text forms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

OUTCOME_WORDS = {"answered": "answered", "unsure": "unsure", "not_in_story": "not in the story"}


@dataclass(frozen=True, slots=True)
class UnansweredQuestion:
    question: str
    times: int
    last_asked: float
    outcome: str = "not_in_story"  # or "unsure": the closest passages were shown


@dataclass(frozen=True, slots=True)
class DownvotedAnswer:
    answer_id: str
    question: str | None  # None when question logging was off
    citations: tuple[str, ...]  # "Story title ¶N"
    down: int
    up: int


@dataclass(frozen=True, slots=True)
class JudgedAnswer:
    """An unsure answer readers judged: how many said the passages answer it, how many said not."""

    answer_id: str
    question: str | None  # None when question logging was off
    citations: tuple[str, ...]
    answers_it: int
    does_not: int


@dataclass(frozen=True, slots=True)
class RecordStats:
    questions: int
    answered: int
    votes_up: int  # 👍/👎 on answers
    votes_down: int
    unanswered: tuple[UnansweredQuestion, ...]
    downvoted: tuple[DownvotedAnswer, ...]
    log_questions: bool = True
    median_latency_ms: float | None = None
    unsure: int = 0
    not_in_story: int = 0
    answers_it: int = 0  # "This answers it" / "It doesn't" on unsure answers
    does_not: int = 0
    judged: tuple[JudgedAnswer, ...] = ()

    @property
    def answered_share(self) -> float | None:
        return self.answered / self.questions if self.questions else None


@dataclass(frozen=True, slots=True)
class QuestionRecord:
    """One recorded question, as `storybot questions` lists it."""

    answer_id: str
    asked_at: float
    via: str
    question: str
    outcome: str
    confidence: float
    history: tuple[str, ...]  # the earlier questions of a follow-up, oldest first
    citations: tuple[str, ...]
    up: int  # 👍, or "This answers it" on an unsure answer
    down: int  # 👎, or "It doesn't"

    def votes_text(self) -> str:
        if not (self.up or self.down):
            return "no votes"
        if self.outcome == "unsure":
            return f"{self.up} answers it, {self.down} doesn't"
        return f"{self.up} 👍, {self.down} 👎"


def printable(text: str, limit: int = 120) -> str:
    """One line of user text safe for a terminal (no control characters), shortened."""
    flat = "".join(c if c.isprintable() else " " for c in " ".join(text.split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "–"


def _question_or_id(question: str | None, answer_id: str) -> str:
    return printable(question) if question is not None else f"(answer {answer_id}; question not logged)"


def format_stats(stats: RecordStats) -> str:
    """`storybot stats` as plain text for people."""
    lines = []
    if stats.questions:
        lines.append(f"Questions asked: {stats.questions}")
        lines.append(f"Answered from the story: {stats.answered} ({_share(stats.answered, stats.questions)})")
        lines.append(f"Unsure (closest passages shown): {stats.unsure} ({_share(stats.unsure, stats.questions)})")
        lines.append(f"Not in the story: {stats.not_in_story} ({_share(stats.not_in_story, stats.questions)})")
        if stats.median_latency_ms is not None:
            lines.append(f"Median answer time: {stats.median_latency_ms:.0f} ms")
    else:
        why = "" if stats.log_questions else " (question logging is off: STORYBOT_LOG_QUESTIONS=false)"
        lines.append(f"Questions asked: none recorded{why}")
    lines.append(f"Feedback: {stats.votes_up} 👍, {stats.votes_down} 👎")
    lines.append(f"On unsure answers: {stats.answers_it} “this answers it”, {stats.does_not} “it doesn't”")
    lines.append("")
    lines.append("Questions the story did not answer:")
    if stats.unanswered:
        lines.extend(
            f"  {u.times}× {printable(u.question)}  [{OUTCOME_WORDS.get(u.outcome, u.outcome)}]"
            for u in stats.unanswered
        )
    else:
        lines.append("  (none)")
    lines.append("")
    lines.append("Answers voted 👎:")
    if stats.downvoted:
        for d in stats.downvoted:
            where = "; ".join(printable(c, 80) for c in d.citations) or "no quotes recorded"
            lines.append(f"  {d.down} 👎 {d.up} 👍  {_question_or_id(d.question, d.answer_id)}\n      quoted: {where}")
    else:
        lines.append("  (none)")
    lines.append("")
    lines.append("Unsure answers readers judged:")
    if stats.judged:
        for j in stats.judged:
            where = "; ".join(printable(c, 80) for c in j.citations) or "no quotes recorded"
            lines.append(
                f"  {j.answers_it} answers it, {j.does_not} doesn't  {_question_or_id(j.question, j.answer_id)}\n"
                f"      closest passages: {where}"
            )
    else:
        lines.append("  (none)")
    return "\n".join(lines)


def format_questions(rows: Sequence[QuestionRecord], *, log_questions: bool = True) -> str:
    """`storybot questions`: the latest questions, newest first, with outcome, quotes and votes."""
    if not rows:
        why = "" if log_questions else " (question logging is off: STORYBOT_LOG_QUESTIONS=false)"
        return f"No questions recorded{why}."
    lines = []
    for row in rows:
        when = datetime.fromtimestamp(row.asked_at, UTC).strftime("%Y-%m-%d %H:%M")
        outcome = OUTCOME_WORDS.get(row.outcome, row.outcome)
        lines.append(f"{when}  {outcome:<16} {row.via:<12} {printable(row.question)}")
        if row.history:
            lines.append(f"      after: {' → '.join(printable(h, 60) for h in row.history)}")
        if row.outcome != "not_in_story" and row.citations:
            lines.append(f"      quoted: {'; '.join(printable(c, 80) for c in row.citations)}")
        lines.append(f"      votes: {row.votes_text()}   (answer {row.answer_id})")
    return "\n".join(lines)
