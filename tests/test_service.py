"""The asking pipeline without Discord: checks, batching on the current engine, paragraphs, votes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bot import render
from bot.custom_ids import QuoteRef, VoteRef
from bot.records import Records
from bot.service import REINDEXED_NOTE, STORY_CHANGED_TEXT, STORY_GONE_TEXT, AskService
from bot.settings import parse_settings
from index.types import Answer, Quote, StorySummary
from tests.doubles import EngineDouble

PARAGRAPH = "The mayor spoke first. He called it an insult. Then he left."
START = PARAGRAPH.index("He called")
QUOTE = Quote("He called it an insult.", "Insult", "s.txt", 1, START, START + 23, 0.9)


def stand_in(corpus_hash: str = "abcdef0123", **options: Any) -> EngineDouble:
    """A tiny engine of one story: records each answer_many batch; its `hold` lets questions queue up."""

    def canned(question: str, _context: str | None, _k: int) -> Answer:
        on_topic = "insult" in question
        confidence, relevance = (0.9, 1.0) if on_topic else (0.1, 0.0)
        return Answer(question, (QUOTE,), confidence, 0.5, double.corpus_hash, relevance=relevance, floor=0.3)

    double = EngineDouble(
        canned=canned,
        corpus_hash=corpus_hash,
        stories=(StorySummary("Insult", "s.txt", 1, 3),),
        paragraphs={("s.txt", 1): PARAGRAPH},
        wait_timeout=5,
        **options,
    )
    return double


def service(**values: str) -> AskService:
    svc = AskService(parse_settings({"STORYBOT_COOLDOWN_SECONDS": "0", **values}))
    svc.engine = stand_in()  # type: ignore[assignment]
    return svc


async def test_prechecks() -> None:
    svc = service(STORYBOT_MAX_QUESTION_CHARS="20", STORYBOT_COOLDOWN_SECONDS="10")
    assert svc.precheck("   ", 1).text == render.EMPTY_TEXT  # type: ignore[union-attr]
    assert "at most 20" in svc.precheck("x" * 21, 1).text  # type: ignore[union-attr]
    assert svc.precheck("who  was  insulted?", 1) is None
    assert "try again in 10 s" in svc.precheck("again?", 1).text  # type: ignore[union-attr]
    svc.engine = None
    assert svc.precheck("loading?", 2).text == render.NOT_READY_TEXT  # type: ignore[union-attr]
    await svc.close()


async def test_questions_waiting_for_the_model_are_batched() -> None:
    svc = service()
    engine: EngineDouble = svc.engine  # type: ignore[assignment]
    engine.hold.clear()
    first = asyncio.create_task(svc.answer("insult one?", user_id=1, via="slash"))
    await asyncio.sleep(0.05)  # the first batch is now in the worker thread, held
    rest = [asyncio.create_task(svc.answer(f"insult {i}?", user_id=i, via="dm")) for i in range(3)]
    await asyncio.sleep(0.05)
    engine.hold.set()
    outcomes = await asyncio.gather(first, *rest)
    assert engine.batches == [["insult one?"], ["insult 0?", "insult 1?", "insult 2?"]]
    assert all(o.card is not None and o.answer is not None and o.answer.answered for o in outcomes)
    await svc.close()


async def test_a_swapped_engine_serves_the_next_batch() -> None:
    svc = service()
    await svc.answer("insult?", user_id=1, via="slash")
    new = stand_in("ffff000011")
    svc.engine = new  # type: ignore[assignment]
    outcome = await svc.answer("insult?", user_id=1, via="slash")
    assert new.batches == [["insult?"]] and outcome.answer.corpus_hash == "ffff000011"  # type: ignore[union-attr]
    await svc.close()


async def test_not_answered_lists_the_stories() -> None:
    svc = service()
    outcome = await svc.answer("the weather?", user_id=1, via="mention")
    assert (
        outcome.card is not None
        and "doesn't answer" in outcome.card.description
        and "*Insult*" in outcome.card.description
    )
    await svc.close()


async def test_paragraph_checks_the_story_still_holds_the_quote() -> None:
    svc = service()
    start = PARAGRAPH.index("He called")
    ref = QuoteRef.of(
        0, "s.txt", paragraph=1, start=start, end=start + 23, text="He called it an insult.", corpus_hash="abcdef0123"
    )
    card = svc.paragraph(ref)
    assert not isinstance(card, str) and "**He called it an insult.**" in card.description
    assert not card.description.startswith("*")
    svc.engine.corpus_hash = "999999"  # type: ignore[union-attr]  # reindexed, same story text
    card = svc.paragraph(ref)
    assert not isinstance(card, str) and card.description.startswith(f"*{REINDEXED_NOTE}*")
    changed = QuoteRef.of(
        0, "s.txt", paragraph=1, start=start, end=start + 23, text="He praised it.", corpus_hash="abcdef0123"
    )
    assert svc.paragraph(changed) == STORY_CHANGED_TEXT
    gone = QuoteRef.of(0, "gone.txt", paragraph=1, start=0, end=5, text="x", corpus_hash="abcdef0123")
    assert svc.paragraph(gone) == STORY_GONE_TEXT
    await svc.close()


async def test_votes_and_records(tmp_path: Path) -> None:
    svc = service()
    svc.records = Records.open(tmp_path)
    outcome = await svc.answer("insult?", user_id=7, via="slash")
    await svc.close()  # waits for the background record write
    assert svc.records.stats().questions == 1
    ref = VoteRef(False, outcome.answer_id or "", "abcdef01")
    assert "noted" in await svc.vote(ref, 7)
    assert "already" in await svc.vote(ref, 7)
    assert "Changed" in await svc.vote(VoteRef(True, ref.answer_id, "abcdef01"), 7)
    svc.records.close()


async def test_engine_failure_reaches_the_asker() -> None:
    svc = service()
    svc.engine = stand_in(raises=RuntimeError("faiss exploded"))  # type: ignore[assignment]
    try:
        await svc.answer("insult?", user_id=1, via="slash")
    except RuntimeError as exc:
        assert "faiss" in str(exc)
    else:
        raise AssertionError("expected the engine's error")
    await svc.close()
