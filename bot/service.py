"""Asking, voting and "Show paragraph" without Discord: the cogs only translate to and from it.

`AskService` owns what every way of asking shares: the length check, greetings (answered with
the help card), the per-user cooldown, the in-flight bound, running the engine off the event loop
(through `index.batching.MicroBatcher`, the same queue `storybot ask -` uses: questions that
arrive together share one forward pass; a follow-up's earlier questions ride along as its
history, see `bot.history`), rendering the answer's outcome and recording it. The text a card
shows is the question as `index.check_question` cleaned it (no mentions, links or markdown).

Each question is answered by the engine of the server it was asked in (`index.library.Library`:
the server's own when it has stories of its own, else the shared one; DMs the shared one), and a
"Show paragraph" button looks only at the stories of the server it is clicked in. Engines can be
swapped at any time (/reindex, /story add); a question uses the engine current when it is asked.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from bot import cards, render
from bot.custom_ids import QuoteRef, VoteRef, corpus_prefix, new_answer_id, resolve_story_key, text_fingerprint
from bot.greetings import is_greeting
from bot.guard import Busy, Cooldown, InFlight
from bot.history import clean_history
from bot.render import Card
from index import check_question
from index.batching import MicroBatcher
from index.errors import QuestionError
from index.library import Library

if TYPE_CHECKING:
    from bot.records import Records
    from bot.settings import Settings
    from index import Answer, Engine

log = logging.getLogger(__name__)

MAX_BATCH = 32
STORY_GONE_TEXT = "That story is no longer in the corpus, so I can't show the paragraph. Ask again for current quotes."
STORY_CHANGED_TEXT = (
    "This story has changed since this answer, so the paragraph no longer holds the quoted text. Ask again for "
    "current quotes."
)
REINDEXED_NOTE = "The stories were re-indexed since this answer; this paragraph still holds the quote."
VOTE_REPLIES = {
    ("thumbs", True): ("Thanks for the 👍 — noted.", "Changed your vote to 👍.", "You already gave this answer a 👍."),
    ("thumbs", False): ("Thanks for the 👎 — noted.", "Changed your vote to 👎.", "You already gave this answer a 👎."),
    ("unsure", True): (
        "Thanks — noted that these passages answer your question.",
        "Changed your vote: these passages answer your question.",
        "You already said these passages answer your question.",
    ),
    ("unsure", False): (
        "Thanks — noted that these passages don't answer your question.",
        "Changed your vote: these passages don't answer your question.",
        "You already said these passages don't answer your question.",
    ),
}
"""What a voter is told privately: (kind, up) → (a new vote, a changed vote, the same vote again)."""
UNRECORDED_VOTE = {("thumbs", True): "Thanks for the 👍.", ("thumbs", False): "Thanks for the 👎."}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What to send back: an answer card, or a short text."""

    card: Card | None = None
    text: str | None = None
    answer: Answer | None = None
    answer_id: str | None = None


def _cleaned(question: str) -> str:
    """The question as the engine reads it (the engine's own cleaning); QuestionError when nothing is left.

    The length is left to `AskService.precheck`, so that its refusal can say how long the question is.
    """
    return check_question(question, max_chars=sys.maxsize)


class AskService:
    """The shared asking pipeline; one per bot."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.perf_counter) -> None:
        self.settings = settings
        self.library: Library | None = None
        self.records: Records | None = None
        self.cooldown = Cooldown(settings.cooldown_seconds)
        self.in_flight = InFlight(settings.max_in_flight, settings.queue_timeout_seconds)
        self._clock = clock
        self._batcher: MicroBatcher | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.closing = False  # set at shutdown: new questions are turned away, taken ones finish
        self._open = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def engine(self) -> Engine | None:
        """The shared engine: DMs and the servers without stories of their own are answered from it."""
        return self.library.shared if self.library is not None else None

    @engine.setter
    def engine(self, engine: Engine | None) -> None:
        """Swap the shared engine; the next question uses the new one."""
        if engine is None:
            self.library = None
        elif self.library is None:
            self.use_library(Library(engine))
        else:
            self.library.swap(None, engine)

    def use_library(self, library: Library) -> None:
        """Answer from `library`'s engines from now on."""
        self.library = library
        if self._batcher is None:
            self._batcher = MicroBatcher(library.shared, max_batch=MAX_BATCH)

    def engine_for(self, guild_id: int | None) -> Engine | None:
        """The engine that answers in a server (None: a DM), or None while loading."""
        return self.library.engine_for(guild_id) if self.library is not None else None

    # -- asking ----------------------------------------------------------------------------

    def help_card(self) -> Card:
        s = self.settings
        return render.render_help(
            cooldown_seconds=s.cooldown_seconds,
            log_questions=s.log_questions,
            retention_days=s.retention_days,
            max_chars=s.max_question_chars,
        )

    def precheck(self, question: str, user_id: int) -> Outcome | None:
        """Fast replies (empty, a greeting, too long, cooldown, not loaded); None means go ahead (cooldown charged)."""
        if self.closing:
            return Outcome(text=render.SHUTTING_DOWN_TEXT)
        try:
            cleaned = _cleaned(question)
        except QuestionError:
            return Outcome(text=render.EMPTY_TEXT)
        if is_greeting(cleaned):  # "hi", "help", "?": how to ask, not a search of the story
            return Outcome(card=self.help_card())
        if len(cleaned) > self.settings.max_question_chars:
            return Outcome(text=render.too_long_text(len(cleaned), self.settings.max_question_chars))
        if self.library is None:
            return Outcome(text=render.NOT_READY_TEXT)
        wait = self.cooldown.hit(user_id)
        if wait is not None:
            return Outcome(text=render.cooldown_text(wait))
        return None

    async def answer(
        self, question: str, *, user_id: int, via: str, history: Sequence[str] = (), guild_id: int | None = None
    ) -> Outcome:
        """Answer a question that passed `precheck`: wait for a slot, ask the engine, render, record.

        `history` holds the earlier questions of a follow-up's conversation, oldest first; `guild_id`
        is the server it was asked in (None: a DM), whose stories answer it.
        """
        started = self._clock()
        earlier = clean_history(history)
        engine = self.engine_for(guild_id)
        try:
            async with self.in_flight.slot():
                result = await self._ask_engine(question, earlier, engine)
        except Busy:
            return Outcome(text=render.BUSY_TEXT)
        if isinstance(result, QuestionError):  # the engine's own check disagreed with ours
            return Outcome(text=render.EMPTY_TEXT)
        latency = self._clock() - started
        answer_id = new_answer_id()
        card = cards.render_outcome(result, answer_id=answer_id, stories=engine.stories if engine is not None else ())
        self._in_background(self._record(answer_id, user_id, via=via, answer=result, latency=latency, history=earlier))
        log.info("Answered via %s in %.0f ms (%s)", via, latency * 1000, result.outcome)
        return Outcome(card=card, answer=result, answer_id=answer_id)

    async def _ask_engine(self, question: str, history: list[str], engine: Engine | None) -> Answer | QuestionError:
        batcher = self._batcher
        if batcher is None or engine is None:
            raise RuntimeError("the engine is not loaded")
        try:
            cleaned = _cleaned(question)
            future = batcher.submit(cleaned, k=self.settings.top_k, history=history, engine=engine)
            return await asyncio.wrap_future(future)
        except QuestionError as exc:
            return exc

    async def _record(
        self, answer_id: str, user_id: int, *, via: str, answer: Answer, latency: float, history: list[str]
    ) -> None:
        records = self.records
        if records is None or not records.log_questions:
            return
        await asyncio.to_thread(
            partial(
                records.record_answer,
                answer_id=answer_id,
                user_id=user_id,
                via=via,
                answer=answer,
                latency=latency,
                history=history,
            )
        )

    async def conversation(self, answer_id: str) -> list[str] | None:
        """The recorded questions that led to an answer, its own last; None when not recorded."""
        records = self.records
        if records is None or not records.log_questions:
            return None
        return await asyncio.to_thread(records.conversation, answer_id)

    def _in_background(self, coro: object) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)  # type: ignore[arg-type]
        self._background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Could not write a record", exc_info=task.exception())

    # -- buttons ---------------------------------------------------------------------------

    def paragraph(self, ref: QuoteRef, guild_id: int | None = None) -> Card | str:
        """The paragraph a "Show paragraph" button points at, or why it cannot be shown.

        Looked up only in the stories of the server the button is clicked in (`guild_id`; None: a DM).
        """
        engine = self.engine_for(guild_id)
        if engine is None:
            return render.NOT_READY_TEXT
        file = resolve_story_key(ref.key, (s.file for s in engine.stories))
        story = engine.story(file) if file is not None else None
        if file is None or story is None:
            return STORY_GONE_TEXT
        text = engine.paragraph_text(file, ref.paragraph)
        if text is None or text_fingerprint(text[ref.start : ref.end]) != ref.text_hash:
            return STORY_CHANGED_TEXT
        note = None if corpus_prefix(engine.corpus_hash) == ref.corpus else REINDEXED_NOTE
        return render.render_paragraph(story, ref.paragraph, text, start=ref.start, end=ref.end, note=note)

    async def vote(self, ref: VoteRef, user_id: int) -> str:
        """Record a vote (one per person per answer, changeable) and say what happened.

        👍/👎 on an answer, or on an unsure answer whether the closest passages answer it.
        """
        new, changed, same = VOTE_REPLIES[ref.kind, ref.up]
        records = self.records
        if records is None:
            return UNRECORDED_VOTE.get((ref.kind, ref.up), "Thanks for telling me.")
        result = await asyncio.to_thread(
            partial(records.record_vote, answer_id=ref.answer_id, user_id=user_id, up=ref.up, kind=ref.kind)
        )
        return {"new": new, "changed": changed, "same": same}[result]

    # -- lifecycle -------------------------------------------------------------------------

    @asynccontextmanager
    async def handling(self) -> AsyncIterator[None]:
        """Around answering one taken question, reply included, so a shutdown can wait for it."""
        self._open += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._open -= 1
            if not self._open:
                self._idle.set()

    async def drain(self, timeout: float) -> int:
        """Turn new questions away and wait up to `timeout` s for taken ones; returns how many are left."""
        self.closing = True
        with suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
        return self._open

    async def close(self) -> None:
        """Finish pending record writes, stop the answer worker and its thread."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self._batcher is not None:
            await asyncio.to_thread(self._batcher.close)
