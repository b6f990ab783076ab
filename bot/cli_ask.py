"""`storybot ask`'s output and its question stream: readable answers, JSON lines, follow-up lines.

Readable output says the outcome, gives the quotes in the engine's order with a short marker each
(¶5, or [2] ¶5 when several stories are quoted) and ends with one Sources list, as the bot's
cards do. With `-`, each line of standard input is a question; a line that starts with `{` is a
JSON object `{"question": "...", "history": ["earlier question", ...]}` (oldest first), answered
as a follow-up. A line that cannot be asked gets its own one-line error and the stream goes on.

Pure module: no discord import, so `storybot ask` starts fast.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from bot.cards import UNSURE_LINE, cited_stories, marker, paragraph_list
from bot.history import clean_history
from index.errors import QuestionError
from index.types import NOT_IN_STORY, UNSURE, Quote

if TYPE_CHECKING:
    from index import Answer, Engine

NOT_IN_STORY_LINE = "The story does not say: nothing in the stories answers this question."


def format_answer(answer: Answer) -> str:
    """The readable form of an answer, for people at a terminal."""
    lines = [f"Q: {answer.question}"]
    if answer.outcome == NOT_IN_STORY:
        lines.append(f"Outcome: not in the story. {NOT_IN_STORY_LINE}")
        return "\n".join(lines)
    unsure = answer.outcome == UNSURE
    lines.append(f"Outcome: unsure. {UNSURE_LINE}" if unsure else "Outcome: answered")
    lines.append("")
    stories = cited_stories(answer.quotes)
    for quote in answer.quotes:
        lines.append(f"  “{marked_text(quote)}”  {marker(quote, stories)}")
    lines.append("")
    lines.append("Sources:")
    for n, story in enumerate(stories, 1):
        number = f"[{n}] " if len(stories) > 1 else ""
        link = f" <{story.source}>" if story.source else ""
        lines.append(f"  {number}{story.title}, {paragraph_list(story.paragraphs)}{link}")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the question stream, read: a question and its history, or why it cannot be asked."""

    question: str
    history: tuple[str, ...] = ()
    follow_up: bool = False  # given as a JSON object (its output then repeats the history)
    error: str | None = None


def read_line(line: str) -> Line:
    """A plain line is a question; a line starting with `{` is a JSON follow-up object."""
    if not line.lstrip().startswith("{"):
        return Line(line)
    try:
        obj = json.loads(line)
    except ValueError as exc:
        return Line(line, error=f"not a valid JSON object ({exc})")
    if not isinstance(obj, dict):
        return Line(line, error='a line starting with "{" must be one JSON object')
    question, history = obj.get("question"), obj.get("history", [])
    if not isinstance(question, str):
        return Line(line, error='the JSON object needs "question": a string')
    if history is None:
        history = []
    if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
        return Line(question, error='"history" must be a list of earlier questions (strings), oldest first')
    return Line(question, tuple(history), follow_up=True)


def _output(line: Line, answer: Answer | None, error: QuestionError | str | None, as_json: bool) -> str:
    if as_json:
        extra = {"history": list(line.history)} if line.follow_up else {}
        if answer is None:
            obj = {"question": line.question, **extra, "outcome": None, "answered": False, "error": str(error)}
            return json.dumps(obj, ensure_ascii=False)
        return json.dumps({**answer.to_json(), **extra}, ensure_ascii=False)
    if answer is None:
        return f"Q: {line.question}\n\nstorybot: {error}"
    return format_answer(answer) + "\n"


def ask_stream(engine: Engine, k: int, as_json: bool) -> None:
    """One answer per input line, in order, flushed as written; a bad line does not stop it.

    A reader thread hands lines to the micro-batcher as they arrive, so lines piped in together
    share forward passes of the model, while answers still come out in input order.
    """
    from index import check_question
    from index.batching import MicroBatcher

    pending: queue.SimpleQueue[tuple[Line, Future[Answer] | QuestionError | str] | None] = queue.SimpleQueue()

    def read(batcher: MicroBatcher) -> None:
        try:
            for raw in sys.stdin:
                line = read_line(raw.rstrip("\r\n"))
                if line.error is not None:
                    pending.put((line, line.error))
                    continue
                try:
                    check_question(line.question, engine.config.max_question_chars)
                except QuestionError as exc:
                    pending.put((line, exc))
                else:
                    pending.put((line, batcher.submit(line.question, k=k, history=clean_history(line.history))))
        finally:
            pending.put(None)

    with MicroBatcher(engine) as batcher:
        threading.Thread(target=read, args=(batcher,), name="storybot-stdin", daemon=True).start()
        while (item := pending.get()) is not None:
            line, waiting = item
            if isinstance(waiting, (QuestionError, str)):
                out = _output(line, None, waiting, as_json)
            else:
                try:
                    out = _output(line, waiting.result(), None, as_json)
                except QuestionError as exc:
                    out = _output(line, None, exc, as_json)
            click.echo(out)
            sys.stdout.flush()


def marked_text(quote: Quote) -> str:
    """The quote with its answer words, when the engine marked them, between ** and **."""
    span = quote.answer_span
    if span is None:
        return quote.text
    a, b = span
    return f"{quote.text[:a]}**{quote.text[a:b]}**{quote.text[b:]}"
