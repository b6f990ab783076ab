"""End to end: the real StorybotBot and the real Engine against the fake Discord — every way of asking.

/ask (public and private), @mention, DM, the "Ask storybot" message command, follow-up replies,
"Show paragraph", 👍/👎, not-answered, length bound, cooldown, busy, mention safety, limits.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot import render
from bot.custom_ids import QuoteRef, VoteRef
from index import Engine, EngineConfig
from tests.bot_fixtures import bot_settings, storybot_running
from tests.doubles import EngineDouble
from tests.e2e import INSULT_Q, JSON, STORY_FILE, assert_sane, buttons, eventually, show_ids
from tests.fake_discord import DefaultIds, FakeDiscord


def vote_id(message: JSON, up: bool) -> str:
    return next(b["custom_id"] for b in buttons(message) if b["custom_id"].startswith("sb:v:u:" if up else "sb:v:d:"))


async def test_commands_synced_to_the_host_server(fake_discord: FakeDiscord, engine: Engine, settings_for: Any) -> None:
    fake = fake_discord
    async with storybot_running(fake, settings_for(fake), lambda: engine):
        commands = {c["name"]: c for c in fake.guild_commands[DefaultIds.guild]}
        assert set(commands) == {"ask", "story", "help", "reindex", "Ask storybot"}
        assert not fake.global_commands  # global sync only when asked
        assert commands["reindex"]["default_member_permissions"] == "32"  # Manage Server
        assert commands["ask"]["default_member_permissions"] is None
        for option in commands["ask"]["options"]:
            assert option["description"]
        assert fake.identify_payloads[0]["intents"] & (1 << 15) == 0  # no message-content intent


async def test_slash_ask_answers_with_verbatim_quote_and_citation(
    fake_discord: FakeDiscord,
    engine: Engine,
    settings_for: Any,
) -> None:
    fake = fake_discord
    expected = engine.answer(INSULT_Q)
    assert expected.answered
    async with storybot_running(fake, settings_for(fake), lambda: engine) as bot:
        handle = await fake.slash_command("ask", {"question": INSULT_Q})
        assert (await handle.wait_response())["type"] == 5  # deferred while the engine works
        message = await handle.final_message()
        embed = message["embeds"][0]
        top = expected.quotes[0]
        assert embed["title"] == INSULT_Q
        assert embed["description"].startswith(f"> {render.escape_markdown(top.text)}\n")
        assert f"*{render.escape_markdown(top.story)}*, ¶{top.paragraph}" in embed["description"]
        assert embed["footer"]["text"].startswith("Quotes are verbatim from the story")
        assert not message["flags"] & 64  # public by default
        assert top.text in engine.paragraph_text(top.file, top.paragraph)  # verbatim: a slice of the story
        ref = QuoteRef.parse(show_ids(message)[0])
        assert ref is not None and (ref.key, ref.paragraph, ref.start, ref.end) == (
            STORY_FILE,
            top.paragraph,
            top.start,
            top.end,
        )

        private = await fake.slash_command("ask", {"question": INSULT_Q, "private": True})
        hidden = await private.final_message()
        assert hidden["flags"] & 64 and hidden["embeds"][0]["title"] == INSULT_Q

        await eventually(lambda: bot.records is not None and bot.records.stats().questions == 2)
        assert_sane(fake)


async def test_mention_and_dm_are_answered(fake_discord: FakeDiscord, engine: Engine, settings_for: Any) -> None:
    fake = fake_discord
    async with storybot_running(fake, settings_for(fake), lambda: engine):
        asked = await fake.user_message(content=f"{fake.bot_mention} {INSULT_Q}")
        reply = await fake.wait_for_message(lambda m: m["kind"] == "channel")
        assert reply["embeds"][0]["title"] == INSULT_Q
        assert reply["message"]["message_reference"]["message_id"] == asked["id"]  # a reply to the question
        assert reply["allowed_mentions"]["replied_user"] is False

        await fake.user_message(content="hello, no mention here")
        since = len(fake.messages)
        await fake.user_message(content=INSULT_Q, dm=True)
        dm = await fake.wait_for_message(lambda m: m["guild_id"] is None, since=since)
        assert dm["channel_id"] == fake.dm_channel_id(DefaultIds.member) and dm["embeds"][0]["title"] == INSULT_Q
        await asyncio.sleep(0.3)
        assert len(fake.messages) == since + 1  # the message without a mention was ignored
        assert_sane(fake)


async def test_message_command_asks_the_message_text(
    fake_discord: FakeDiscord, engine: Engine, settings_for: Any
) -> None:
    fake = fake_discord
    async with storybot_running(fake, settings_for(fake), lambda: engine):
        posted = await fake.user_message(content=INSULT_Q, author_id=DefaultIds.owner)
        handle = await fake.message_command("Ask storybot", posted)
        message = await handle.final_message()
        assert message["embeds"][0]["title"] == INSULT_Q and show_ids(message)
        assert_sane(fake)


async def test_reply_to_an_answer_is_a_follow_up(fake_discord: FakeDiscord, engine: Engine, settings_for: Any) -> None:
    fake = fake_discord
    first_q, follow_q = "What did the police commissioner say?", "what about the union?"
    with_context = engine.answer(follow_q, context=first_q)
    without = engine.answer(follow_q)
    assert [q.paragraph for q in with_context.quotes] != [q.paragraph for q in without.quotes]
    async with storybot_running(fake, settings_for(fake), lambda: engine) as bot:
        first = await (await fake.slash_command("ask", {"question": first_q})).final_message()
        since = len(fake.messages)
        await fake.user_message(content=follow_q, reply_to=first)  # a reply pings the bot by default
        reply = await fake.wait_for_message(lambda m: m["kind"] == "channel", since=since)
        assert reply["embeds"][0]["title"] == follow_q

        def follow_up_row() -> tuple[Any, ...] | None:
            assert bot.records is not None
            with bot.records._lock:
                return bot.records._db.execute(
                    "SELECT id, via, context FROM questions WHERE question = ?", (follow_q,)
                ).fetchone()

        await eventually(lambda: follow_up_row() is not None)
        answer_id, via, context = follow_up_row()  # type: ignore[misc]
        assert (via, context) == ("follow_up", first_q)
        with bot.records._lock:  # type: ignore[union-attr]
            recorded = [r[0] for r in bot.records._db.execute(  # type: ignore[union-attr]
                "SELECT paragraph FROM quotes WHERE question_id = ? ORDER BY rank", (answer_id,)
            )]  # fmt: skip
        assert recorded == [q.paragraph for q in with_context.quotes]  # the earlier question steered the search
        assert_sane(fake)


async def test_show_paragraph_and_votes(fake_discord: FakeDiscord, engine: Engine, settings_for: Any) -> None:
    fake = fake_discord
    async with storybot_running(fake, settings_for(fake), lambda: engine) as bot:
        handle = await fake.slash_command("ask", {"question": INSULT_Q})
        message = await handle.final_message()
        ref = QuoteRef.parse(show_ids(message)[0])
        assert ref is not None
        paragraph = engine.paragraph_text(STORY_FILE, ref.paragraph)
        assert paragraph is not None

        shown = await (await fake.click_button(message, show_ids(message)[0], user_id=DefaultIds.admin)).final_message()
        assert shown["flags"] & 64  # only the clicker sees it
        description = shown["embeds"][0]["description"]
        before, quoted, after = paragraph[: ref.start], paragraph[ref.start : ref.end], paragraph[ref.end :]
        assert description == render.escape_markdown(
            before
        ) + f"**{render.escape_markdown(quoted)}**" + render.escape_markdown(after)

        up, down = vote_id(message, True), vote_id(message, False)
        ack = await (await fake.click_button(message, down, user_id=DefaultIds.admin)).final_message()
        assert ack["flags"] & 64 and "👎" in ack["content"]
        again = await (await fake.click_button(message, down, user_id=DefaultIds.admin)).final_message()
        assert "already" in again["content"]
        changed = await (await fake.click_button(message, up, user_id=DefaultIds.admin)).final_message()
        assert "Changed" in changed["content"]
        await (await fake.click_button(message, down, user_id=DefaultIds.owner)).final_message()
        assert bot.records is not None
        stats = bot.records.stats()
        assert (stats.votes_up, stats.votes_down) == (1, 1)  # one vote per person per answer
        answer_id = VoteRef.parse(down).answer_id  # type: ignore[union-attr]
        assert stats.downvoted[0].answer_id == answer_id and stats.downvoted[0].question == INSULT_Q
        assert_sane(fake)


async def test_buttons_keep_working_after_a_restart(
    fake_discord: FakeDiscord, engine: Engine, settings_for: Any
) -> None:
    fake = fake_discord
    settings = settings_for(fake, STORYBOT_LOG_QUESTIONS="false")
    async with storybot_running(fake, settings, lambda: engine):
        message = await (await fake.slash_command("ask", {"question": INSULT_Q})).final_message()
    async with storybot_running(fake, settings, lambda: engine) as bot:  # a new process, in effect
        shown = await (await fake.click_button(message, show_ids(message)[0])).final_message()
        assert shown["embeds"][0]["description"].count("**") == 2
        ack = await (await fake.click_button(message, vote_id(message, True))).final_message()
        assert "👍" in ack["content"]
        assert bot.records is not None
        stats = bot.records.stats()
        assert stats.questions == 0 and stats.votes_up == 1  # logging off: no questions, votes still count
    assert_sane(fake)


async def test_not_in_the_story_says_so(fake_discord: FakeDiscord, engine: Engine, settings_for: Any) -> None:
    fake = fake_discord
    question = "Who won the world cup?"
    assert not engine.answer(question).answered
    async with storybot_running(fake, settings_for(fake), lambda: engine):
        message = await (await fake.slash_command("ask", {"question": question})).final_message()
        description = message["embeds"][0]["description"]
        assert "doesn't answer" in description and "/story" in description
        assert render.escape_markdown(engine.stories[0].title) in description  # what the corpus covers
        assert not message["components"]
        assert_sane(fake)


async def test_too_long_and_empty_questions(fake_discord: FakeDiscord, engine: Engine, settings_for: Any) -> None:
    fake = fake_discord
    async with storybot_running(fake, settings_for(fake, STORYBOT_MAX_QUESTION_CHARS="40"), lambda: engine):
        handle = await fake.slash_command("ask", {"question": "why " * 20})
        callback = await handle.wait_response()
        assert callback["type"] == 4 and callback["data"]["flags"] & 64
        assert "at most 40" in callback["data"]["content"]
        since = len(fake.messages)
        await fake.user_message(content=f"{fake.bot_mention}")
        reply = await fake.wait_for_message(lambda m: m["kind"] == "channel", since=since)
        assert reply["content"] == render.EMPTY_TEXT
        assert_sane(fake)


async def test_cooldown_is_polite(fake_discord: FakeDiscord, engine: Engine, settings_for: Any) -> None:
    fake = fake_discord
    async with storybot_running(fake, settings_for(fake, STORYBOT_COOLDOWN_SECONDS="30"), lambda: engine):
        await (await fake.slash_command("ask", {"question": INSULT_Q})).final_message()
        second = await fake.slash_command("ask", {"question": INSULT_Q})
        callback = await second.wait_response()
        assert callback["type"] == 4 and callback["data"]["flags"] & 64
        assert "try again in" in callback["data"]["content"] and " s" in callback["data"]["content"]
        other = await (
            await fake.slash_command("ask", {"question": INSULT_Q}, user_id=DefaultIds.admin)
        ).final_message()
        assert other["embeds"]  # the cooldown is per user

        since = len(fake.messages)
        await fake.user_message(content=f"{fake.bot_mention} {INSULT_Q}")
        reply = await fake.wait_for_message(lambda m: m["kind"] == "channel", since=since)
        assert "try again in" in reply["content"] and not reply["embeds"]
        assert_sane(fake)


async def test_busy_beyond_the_in_flight_bound(fake_discord: FakeDiscord, engine: Engine, settings_for: Any) -> None:
    fake = fake_discord
    settings = settings_for(fake, STORYBOT_MAX_IN_FLIGHT="1", STORYBOT_QUEUE_TIMEOUT_SECONDS="0.3")
    slow = EngineDouble(engine, delay=1.5)  # holds an in-flight slot long enough to fill the bound
    async with storybot_running(fake, settings, lambda: slow):  # type: ignore[arg-type, return-value]
        first = await fake.slash_command("ask", {"question": INSULT_Q})
        await first.wait_response()
        second = await fake.slash_command("ask", {"question": INSULT_Q}, user_id=DefaultIds.admin)
        assert (await second.wait_response())["type"] == 5  # deferred within 3 s even when queued
        busy = await second.final_message(timeout=5)
        assert busy["content"] == render.BUSY_TEXT
        answered = await first.final_message(timeout=5)
        assert answered["embeds"][0]["title"] == INSULT_Q
        assert_sane(fake)


async def test_mentions_in_questions_never_ping(fake_discord: FakeDiscord, engine: Engine, settings_for: Any) -> None:
    fake = fake_discord
    pings = f"@everyone @here <@&{DefaultIds.admin_role}> <@{DefaultIds.admin}>"
    async with storybot_running(fake, settings_for(fake), lambda: engine):
        handle = await fake.slash_command("ask", {"question": f"{pings} {INSULT_Q}"})
        message = await handle.final_message()
        assert message["embeds"][0]["title"] == INSULT_Q  # the question as cleaned: no mentions left to ping
        since = len(fake.messages)
        await fake.user_message(content=f"{fake.bot_mention} {pings} who won the cup?")
        await fake.wait_for_message(lambda m: m["kind"] == "channel", since=since)
        for sent in fake.messages:
            assert sent["allowed_mentions"]["parse"] == [] and not sent["allowed_mentions"].get("replied_user")
            assert not sent["message"]["mention_everyone"] and not sent["message"]["mention_roles"]
        assert_sane(fake)


async def test_answers_stay_within_discord_limits(
    fake_discord: FakeDiscord,
    own_engine_config: EngineConfig,
    embedder: Any,
    tmp_path: Path,
) -> None:
    fake = fake_discord
    long_paragraph = " ".join(
        f"The harbour master said that ship number {i} carried *cargo* for the_river_port and left at dawn."
        for i in range(120)
    )
    (own_engine_config.corpus_dir / "harbour.txt").write_text(
        f"---\ntitle: Harbour **log**\n---\n{long_paragraph}\n", encoding="utf-8"
    )
    engine = Engine.open(own_engine_config, build="if-needed", embedder=embedder)
    settings = bot_settings(fake, tmp_path / "data", own_engine_config, STORYBOT_TOP_K="10")
    async with storybot_running(fake, settings, lambda: engine):
        for question in ("What did the harbour master say about the ships?", INSULT_Q, "x " * 200):
            handle = await fake.slash_command("ask", {"question": question})
            message = await handle.final_message()
            for custom_id in show_ids(message):
                await (await fake.click_button(message, custom_id)).final_message()
        assert len(fake.messages) > 6
        windowed = [m["embeds"][0]["description"] for m in fake.messages if m["embeds"] and m["ephemeral"]]
        assert any(len(d) > 4000 and d.endswith("…") for d in windowed)  # a long paragraph, cut at a word
        assert_sane(fake)


async def test_unexpected_errors_get_an_apology_and_a_logged_traceback(
    fake_discord: FakeDiscord,
    engine: Engine,
    settings_for: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = fake_discord
    broken = EngineDouble(engine, raises=RuntimeError("simulated failure inside the engine"))
    async with storybot_running(fake, settings_for(fake), lambda: broken):  # type: ignore[arg-type, return-value]
        message = await (await fake.slash_command("ask", {"question": INSULT_Q})).final_message()
        assert message["content"] == render.APOLOGY_TEXT and not message["embeds"]
        since = len(fake.messages)
        await fake.user_message(content=f"{fake.bot_mention} {INSULT_Q}")
        reply = await fake.wait_for_message(lambda m: m["kind"] == "channel", since=since)
        assert reply["content"] == render.APOLOGY_TEXT
        assert "simulated failure inside the engine" not in str(fake.messages)  # no str(exc) shown to users
        assert "simulated failure inside the engine" in caplog.text  # the traceback went to the log
        assert_sane(fake)
