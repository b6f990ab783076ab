"""End to end: the real bot and engine against the fake Discord — three outcomes, clean titles, greetings, follow-ups.

An unsure answer's card and its "This answers it" / "It doesn't" votes (recorded, changeable, working
after a restart, listed by `storybot questions`); the cleaned question as the card title in every way
of asking; "hi" answered with the help card; a reply answered as a follow-up with the conversation's
earlier questions (from the records, or read back along the replies); one Sources list per card.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.cards import ANSWERS_IT_LABEL, DOES_NOT_LABEL, SOURCES_HEADING, UNSURE_LINE
from bot.custom_ids import VoteRef
from index import UNSURE, Engine, check_question
from tests.bot_fixtures import storybot_running
from tests.e2e import INSULT_Q, JSON, assert_sane, buttons, eventually
from tests.fake_discord import DefaultIds, FakeDiscord
from tests.helpers import MODEL_CACHE, REPO

UNSURE_CANDIDATES = (
    "where does the message not seem to have reached",
    "what happened",
    "what did the union say about the mayor",
    "what about the other officials",
)
MULLINS_Q, ICE_Q = "who is ed mullins", "what did he say about ICE"
HELP_TITLE = "How to ask storybot"


def button_id(message: JSON, label: str) -> str:
    return next(b["custom_id"] for b in buttons(message) if b.get("label") == label)


def unsure_question(engine: Engine) -> str:
    """A question the shipped weights answer `unsure` on the bundled story."""
    for question in UNSURE_CANDIDATES:
        if engine.answer(question).outcome == UNSURE:
            return question
    raise AssertionError(f"none of {UNSURE_CANDIDATES} is unsure with these weights; add one that is")


def storybot_cli(args: list[str], cwd: Path, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYBOT_") and k != "DISCORD_TOKEN"}
    env.update(PYTHONPATH=str(REPO), STORYBOT_MODEL_CACHE_DIR=str(MODEL_CACHE), STORYBOT_DATA_DIR=str(data_dir))
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


async def test_unsure_answer_shows_the_closest_passages_and_records_votes(
    fake_discord: FakeDiscord, engine: Engine, settings_for: Any
) -> None:
    fake = fake_discord
    question = unsure_question(engine)
    expected = engine.answer(question)
    async with storybot_running(fake, settings_for(fake), lambda: engine) as bot:
        message = await (await fake.slash_command("ask", {"question": question})).final_message()
        embed = message["embeds"][0]
        assert embed["title"] == question
        assert embed["description"].startswith(f"*{UNSURE_LINE}*\n\n> ")
        assert embed["description"].count(SOURCES_HEADING) == 1
        assert embed["footer"]["text"].startswith("Quotes are verbatim")
        labels = [b.get("label") for b in buttons(message)]
        assert labels[-2:] == [ANSWERS_IT_LABEL, DOES_NOT_LABEL]
        assert not any(b["custom_id"].startswith(("sb:v:u:", "sb:v:d:")) for b in buttons(message))  # no 👍/👎
        yes, no = button_id(message, ANSWERS_IT_LABEL), button_id(message, DOES_NOT_LABEL)

        ack = await (await fake.click_button(message, yes)).final_message()
        assert ack["flags"] & 64 and "answer your question" in ack["content"]
        again = await (await fake.click_button(message, yes)).final_message()
        assert again["flags"] & 64 and "already" in again["content"]
        changed = await (await fake.click_button(message, no)).final_message()
        assert "Changed" in changed["content"] and "don't answer" in changed["content"]
        other = await (await fake.click_button(message, no, user_id=DefaultIds.admin)).final_message()
        assert other["flags"] & 64 and "noted" in other["content"]

        records = bot.records
        assert records is not None
        await eventually(lambda: bool(records.recent(outcome=UNSURE)))
        stats = records.stats()
        assert (stats.unsure, stats.answers_it, stats.does_not, stats.votes_up, stats.votes_down) == (1, 0, 2, 0, 0)
        row = records.recent(outcome=UNSURE)[0]
        assert row.question == question and (row.up, row.down) == (0, 2)
        assert row.answer_id == VoteRef.parse(yes).answer_id  # type: ignore[union-attr]
        assert row.citations == tuple(f"{q.story} ¶{q.paragraph}" for q in expected.quotes)
        assert_sane(fake)


async def test_unsure_votes_work_after_a_restart_and_show_in_the_records_cli(
    fake_discord: FakeDiscord, engine: Engine, settings_for: Any, tmp_path: Path
) -> None:
    fake = fake_discord
    question = unsure_question(engine)
    settings = settings_for(fake)
    async with storybot_running(fake, settings, lambda: engine):
        message = await (await fake.slash_command("ask", {"question": question})).final_message()
    async with storybot_running(fake, settings, lambda: engine):  # a new process, in effect
        ack = await (await fake.click_button(message, button_id(message, ANSWERS_IT_LABEL))).final_message()
        assert ack["flags"] & 64 and "noted" in ack["content"]
    assert_sane(fake)

    listed = storybot_cli(["questions", "--outcome", "unsure", "--json"], tmp_path, settings.data_dir)
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["question"], r["outcome"], r["up"], r["down"]) for r in rows] == [(question, "unsure", 1, 0)]
    readable = storybot_cli(["questions"], tmp_path, settings.data_dir)
    assert "unsure" in readable.stdout and question in readable.stdout and "1 answers it, 0 doesn't" in readable.stdout
    stats = storybot_cli(["stats"], tmp_path, settings.data_dir)
    assert "Unsure (closest passages shown): 1" in stats.stdout and "1 “this answers it”" in stats.stdout


async def test_the_card_title_is_the_cleaned_question_every_way_of_asking(
    fake_discord: FakeDiscord, engine: Engine, settings_for: Any
) -> None:
    fake = fake_discord
    role, member = DefaultIds.admin_role, DefaultIds.admin
    asked = {
        "slash": f"<@&{role}> @everyone **{INSULT_Q}** <#{DefaultIds.channel}>",
        "mention": f"{fake.bot_mention} <@{member}> __{INSULT_Q}__ https://example.com/x",
        "dm": f"> {INSULT_Q} <:wave:123456789012345678>",
        "menu": f"@here {INSULT_Q} <t:1700000000:R>",
        "reply": f"<@&{role}> ||{INSULT_Q}||",
    }
    for raw in asked.values():
        assert check_question(raw, 500) == INSULT_Q
    async with storybot_running(fake, settings_for(fake), lambda: engine):
        titles = {}
        slash = await (await fake.slash_command("ask", {"question": asked["slash"]})).final_message()
        titles["slash"] = slash["embeds"][0]["title"]

        since = len(fake.messages)
        await fake.user_message(content=asked["mention"])
        reply = await fake.wait_for_message(lambda m: m["kind"] == "channel", since=since)
        titles["mention"] = reply["embeds"][0]["title"]

        since = len(fake.messages)
        await fake.user_message(content=asked["dm"], dm=True)
        dm = await fake.wait_for_message(lambda m: m["guild_id"] is None, since=since)
        titles["dm"] = dm["embeds"][0]["title"]

        posted = await fake.user_message(content=asked["menu"], author_id=DefaultIds.owner)
        menu = await (await fake.message_command("Ask storybot", posted)).final_message()
        titles["menu"] = menu["embeds"][0]["title"]

        since = len(fake.messages)
        await fake.user_message(content=asked["reply"], reply_to=slash)
        follow = await fake.wait_for_message(lambda m: m["kind"] == "channel", since=since)
        titles["reply"] = follow["embeds"][0]["title"]
        assert titles == dict.fromkeys(asked, INSULT_Q)
        assert_sane(fake)


async def test_greetings_get_the_help_card(fake_discord: FakeDiscord, engine: Engine, settings_for: Any) -> None:
    fake = fake_discord
    async with storybot_running(fake, settings_for(fake), lambda: engine) as bot:
        since = len(fake.messages)
        await fake.user_message(content="hi", dm=True)
        dm = await fake.wait_for_message(lambda m: m["guild_id"] is None, since=since)
        assert dm["embeds"][0]["title"] == HELP_TITLE and "/ask" in dm["embeds"][0]["description"]

        since = len(fake.messages)
        await fake.user_message(content=f"{fake.bot_mention} hello!")
        mention = await fake.wait_for_message(lambda m: m["kind"] == "channel", since=since)
        assert mention["embeds"][0]["title"] == HELP_TITLE

        callback = await (await fake.slash_command("ask", {"question": "help?"})).wait_response()
        assert callback["type"] == 4 and callback["data"]["flags"] & 64
        assert callback["data"]["embeds"][0]["title"] == HELP_TITLE

        since = len(fake.messages)
        await fake.user_message(content="?", dm=True)
        question_mark = await fake.wait_for_message(lambda m: m["guild_id"] is None, since=since)
        assert question_mark["embeds"][0]["title"] == HELP_TITLE
        await asyncio.sleep(0.2)
        assert bot.records is not None and bot.records.stats().questions == 0  # greetings are not questions
        assert_sane(fake)


async def test_a_reply_is_answered_as_a_follow_up_with_one_sources_list(
    fake_discord: FakeDiscord, engine: Engine, settings_for: Any
) -> None:
    fake = fake_discord
    expected = engine.answer(ICE_Q, history=[MULLINS_Q])
    assert expected.quotes[0].paragraph == 14
    async with storybot_running(fake, settings_for(fake), lambda: engine) as bot:
        first = await (await fake.slash_command("ask", {"question": MULLINS_Q})).final_message()
        since = len(fake.messages)
        await fake.user_message(content=ICE_Q, reply_to=first)
        reply = await fake.wait_for_message(lambda m: m["kind"] == "channel", since=since)
        embed = reply["embeds"][0]
        assert embed["title"] == ICE_Q
        description = embed["description"]
        top = expected.quotes[0]
        assert description.startswith("> ") and "cooperate with ICE" in description.split("\n")[0]
        assert description.split("\n")[1] == "— ¶14"  # the first quote is from ¶14, marked as such

        # One Sources list at the end; each story and each paragraph cited once.
        body, sources = description.split(f"\n\n{SOURCES_HEADING}\n")
        assert description.count(SOURCES_HEADING) == 1 and SOURCES_HEADING not in body
        paragraphs = sorted({q.paragraph for q in expected.quotes})
        assert sources.endswith(", " + ", ".join(f"¶{p}" for p in paragraphs))
        assert description.count(top.story.split('"')[0]) == 1  # the story's title appears once
        markers = [line for line in body.split("\n") if line.startswith("— ")]
        assert markers == [f"— ¶{q.paragraph}" for q in expected.quotes]
        shown = [f"Show ¶{p}" for p in dict.fromkeys(q.paragraph for q in expected.quotes)]
        assert [b.get("label") for b in buttons(reply) if b.get("label")] == shown

        # A reply to the follow-up carries both earlier questions, oldest first.
        records = bot.records
        assert records is not None
        third = "and what did the mayor say?"
        since = len(fake.messages)
        await fake.user_message(content=third, reply_to=reply["message"])
        await fake.wait_for_message(lambda m: m["kind"] == "channel", since=since)
        await eventually(lambda: any(r.question == third for r in records.recent()))
        row = next(r for r in records.recent() if r.question == third)
        assert row.via == "follow_up" and row.history == (MULLINS_Q, ICE_Q)
        assert_sane(fake)


class HistorySpy:
    """The real engine, noting the history each question came with."""

    def __init__(self, inner: Engine) -> None:
        self.inner = inner
        self.asked: list[tuple[str, list[str]]] = []

    def answer_many(
        self,
        questions: Sequence[str],
        *,
        k: int = 3,
        contexts: Sequence[str | None] | None = None,
        histories: Sequence[Sequence[str]] | None = None,
    ) -> list[Any]:
        if histories is None:
            histories = [[c] if c else [] for c in contexts or [None] * len(questions)]
        self.asked.extend((q, list(h)) for q, h in zip(questions, histories))
        return self.inner.answer_many(questions, k=k, histories=histories)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_without_records_the_history_is_read_back_along_the_replies(
    fake_discord: FakeDiscord, engine: Engine, settings_for: Any
) -> None:
    fake = fake_discord
    spy = HistorySpy(engine)
    settings = settings_for(fake, STORYBOT_LOG_QUESTIONS="false")
    async with storybot_running(fake, settings, lambda: spy):  # type: ignore[arg-type, return-value]
        since = len(fake.messages)
        await fake.user_message(content=f"{fake.bot_mention} {MULLINS_Q}")
        first = await fake.wait_for_message(lambda m: m["kind"] == "channel", since=since)
        since = len(fake.messages)
        await fake.user_message(content=ICE_Q, reply_to=first["message"])
        second = await fake.wait_for_message(lambda m: m["kind"] == "channel", since=since)
        assert second["embeds"][0]["description"].split("\n")[1] == "— ¶14"
        since = len(fake.messages)
        await fake.user_message(content="and the mayor?", reply_to=second["message"])
        await fake.wait_for_message(lambda m: m["kind"] == "channel", since=since)
    assert spy.asked == [(MULLINS_Q, []), (ICE_Q, [MULLINS_Q]), ("and the mayor?", [MULLINS_Q, ICE_Q])]
    assert_sane(fake)
