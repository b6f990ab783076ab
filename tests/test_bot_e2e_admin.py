"""End to end: /reindex (hot swap, refusal, failure, heartbeats meanwhile), /story and /help."""

from __future__ import annotations

import asyncio
import copy
import itertools
import threading
import time
from pathlib import Path
from typing import Any

from bot import render
from bot.service import REINDEXED_NOTE, STORY_CHANGED_TEXT
from index import Engine, EngineConfig
from tests.bot_fixtures import bot_settings, storybot_running
from tests.doubles import EngineDouble
from tests.e2e import INSULT_Q, STORY_FILE, assert_sane, show_ids
from tests.fake_discord import DefaultIds, FakeDiscord
from tests.fake_discord.world import MANAGE_GUILD

PANDA_Q = "What did the zoo name its new panda?"
PANDA_STORY = """---
title: The city zoo welcomes a giant panda
---
The city zoo named its new giant panda Bao Bao on Tuesday, after a vote by local schoolchildren.

Keepers said the panda eats about forty kilograms of bamboo a day.
"""


def open_engine(config: EngineConfig, embedder: Any) -> Engine:
    return Engine.open(config, build="never", embedder=embedder)


def filler_stories(folder: Path, count: int = 3) -> None:
    """Some more stories, so the rebuild has real embedding work to do (a few seconds on a laptop)."""
    for i in range(count):
        paragraphs = [
            " ".join(
                f"In district {i * 10 + p}, the council debated budget line {s} for {20 + s} minutes before a vote."
                for s in range(5)
            )
            for p in range(4)
        ]
        (folder / f"council{i}.txt").write_text(
            f"---\ntitle: Council meeting {i}\n---\n" + "\n\n".join(paragraphs) + "\n"
        )


async def test_reindex_swaps_in_a_new_story_without_restart(
    fake_discord: FakeDiscord,
    own_engine_config: EngineConfig,
    embedder: Any,
    tmp_path: Path,
) -> None:
    fake = fake_discord
    config = own_engine_config
    settings = bot_settings(fake, tmp_path / "data", config)
    gate = threading.Event()  # the rebuild (real embedding work) then waits for the test's go before the swap
    gated = EngineDouble(open_engine(config, embedder), rebuild_gate=gate)
    async with storybot_running(fake, settings, lambda: gated) as bot:  # type: ignore[arg-type, return-value]
        refused = await fake.slash_command("reindex", user_id=DefaultIds.member)
        callback = await refused.wait_response()
        assert callback["type"] == 4 and callback["data"]["flags"] & 64
        assert callback["data"]["content"] == render.NOT_ADMIN_TEXT and not bot.reindexing

        before = await (await fake.slash_command("ask", {"question": PANDA_Q})).final_message()
        assert "panda" not in before["embeds"][0]["description"].lower()
        answer = await (await fake.slash_command("ask", {"question": INSULT_Q})).final_message()
        shows = show_ids(answer)
        old_engine = gated.inner
        quoted = [old_engine.answer(INSULT_Q).quotes[i].paragraph for i in range(2)]
        assert quoted[0] != quoted[1]

        # The corpus changes on disk: a new story, and the first quoted paragraph is rewritten.
        (config.corpus_dir / "panda.txt").write_text(PANDA_STORY, encoding="utf-8")
        filler_stories(config.corpus_dir)
        story_path = config.corpus_dir / STORY_FILE
        old_paragraph = old_engine.paragraph_text(STORY_FILE, quoted[0])
        assert old_paragraph is not None
        story_path.write_text(
            story_path.read_text(encoding="utf-8").replace(
                old_paragraph, "This paragraph was rewritten by the editors."
            ),
            encoding="utf-8",
        )

        started = time.monotonic()
        reindex = await fake.slash_command("reindex", user_id=DefaultIds.admin)
        ack = await reindex.wait_response()
        assert ack["type"] == 4 and ack["data"]["flags"] & 64 and ack["data"]["content"] == render.REINDEX_STARTED_TEXT
        second = await (await fake.slash_command("reindex", user_id=DefaultIds.admin)).wait_response()
        assert second["data"]["content"] == render.REINDEX_RUNNING_TEXT

        during = await (
            await fake.slash_command("ask", {"question": INSULT_Q}, user_id=DefaultIds.owner)
        ).final_message()
        assert during["embeds"][0]["title"] == INSULT_Q  # answered from the old index meanwhile
        assert bot.reindexing and bot.engine is gated

        await asyncio.sleep(0.5)
        gate.set()
        report = await reindex.wait_followup(timeout=180)
        finished = time.monotonic()
        assert report["content"].startswith("Rebuilt the index: 5 stories") and report["ephemeral"]
        assert bot.engine is not gated and not bot.reindexing

        # Heartbeats kept their rhythm while the model embedded the corpus in a worker thread.
        interval = fake.heartbeat_interval_ms / 1000
        beats = [t for t, conn in fake.heartbeats if started - interval <= t <= finished + interval]
        assert len(beats) >= 2
        gaps = [b - a for a, b in itertools.pairwise(beats)]
        assert max(gaps) <= interval + 1.0, gaps

        after = await (await fake.slash_command("ask", {"question": PANDA_Q})).final_message()
        assert "Bao Bao" in after["embeds"][0]["description"]
        assert "giant panda" in after["embeds"][0]["description"]

        changed = await (await fake.click_button(answer, shows[0])).final_message()
        assert changed["content"] == STORY_CHANGED_TEXT and not changed["embeds"]
        unchanged = await (await fake.click_button(answer, shows[1])).final_message()
        assert unchanged["embeds"][0]["description"].startswith(f"*{REINDEXED_NOTE}*")
        assert_sane(fake)


async def test_failed_reindex_keeps_the_old_index_and_admin_rules(
    fake_discord: FakeDiscord,
    own_engine_config: EngineConfig,
    embedder: Any,
    tmp_path: Path,
) -> None:
    fake = fake_discord
    config = own_engine_config
    other_guild, other_channel, other_admin = 811111111111111199, 822222222222222299, 833333333333333399
    fake.add_user(other_admin, "elsewhere")
    fake.add_guild(other_guild, "Another Server", other_admin)
    fake.add_role(other_guild, 844444444444444499, "Mods", MANAGE_GUILD)
    fake.add_member(other_guild, fake.bot_user_id)
    fake.add_channel(other_guild, other_channel, "general")
    settings = bot_settings(fake, tmp_path / "data", config, STORYBOT_ADMIN_USER_IDS=str(DefaultIds.member))
    async with storybot_running(fake, settings, lambda: open_engine(config, embedder)) as bot:
        reindex = next(c for c in fake.guild_commands[DefaultIds.guild] if c["name"] == "reindex")
        for guild in (other_guild, None):  # as if the commands were also registered there / globally
            definition = {
                k: v
                for k, v in copy.deepcopy(reindex).items()
                if k not in ("id", "guild_id", "application_id", "version")
            }
            fake.register_command(definition, guild_id=guild)

        # Manage Server counts only on the host's servers.
        elsewhere = await fake.slash_command("reindex", user_id=other_admin, guild_id=other_guild)
        assert (await elsewhere.wait_response())["data"]["content"] == render.NOT_ADMIN_TEXT

        # A listed admin user may reindex from a DM; the corpus is broken, so the rebuild fails.
        original = (config.corpus_dir / STORY_FILE).read_text(encoding="utf-8")
        (config.corpus_dir / "copy.txt").write_text(original, encoding="utf-8")  # same title twice
        old_engine = bot.engine
        dm = await fake.slash_command("reindex", user_id=DefaultIds.member, dm=True)
        assert (await dm.wait_response())["data"]["content"] == render.REINDEX_STARTED_TEXT
        report = await dm.wait_followup(timeout=60)
        assert report["content"].startswith("The rebuild failed, so I keep answering from the previous index")
        assert "copy.txt" in report["content"] and "Traceback" not in report["content"]
        assert bot.engine is old_engine and not bot.reindexing

        answer = await (await fake.slash_command("ask", {"question": INSULT_Q})).final_message()
        assert answer["embeds"][0]["title"] == INSULT_Q
        assert_sane(fake)


async def test_story_and_help(
    fake_discord: FakeDiscord, engine: Engine, engine_config: EngineConfig, tmp_path: Path
) -> None:
    fake = fake_discord
    async with storybot_running(fake, bot_settings(fake, tmp_path / "data", engine_config), lambda: engine):
        story = await (await fake.slash_command("story list")).final_message()
        embed = story["embeds"][0]
        fields = {f["name"]: f["value"] for f in embed["fields"]}
        assert render.escape_markdown(engine.stories[0].title) in embed["description"]
        assert fields["Stories"] == "1" and fields["Index"] == "up to date" and fields["Built"].startswith("<t:")
        assert fields["Model"] == "sentence-transformers/all-MiniLM-L6-v2"
        assert story["flags"] & 64

        help_message = await (await fake.slash_command("help")).final_message()
        text = help_message["embeds"][0]["description"]
        assert (
            "/ask" in text
            and "mention" in text.lower()
            and "Ask storybot" in text
            and "Reply to one of my answers" in text
        )
        assert help_message["flags"] & 64
        assert_sane(fake)
