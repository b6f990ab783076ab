"""End to end: the bot survives a 429 on the interaction callback and a dropped gateway."""

from __future__ import annotations

from pathlib import Path

from index import Engine, EngineConfig
from tests.bot_fixtures import bot_settings, storybot_running
from tests.e2e import INSULT_Q, assert_sane
from tests.fake_discord import FakeDiscord


async def test_a_429_on_the_callback_route_is_survived(
    fake_discord: FakeDiscord,
    engine: Engine,
    engine_config: EngineConfig,
    tmp_path: Path,
) -> None:
    fake = fake_discord
    async with storybot_running(fake, bot_settings(fake, tmp_path / "data", engine_config), lambda: engine):
        fake.rate_limit("/callback", retry_after=0.3)
        handle = await fake.slash_command("ask", {"question": INSULT_Q})
        message = await handle.final_message(timeout=10)
        assert message["embeds"][0]["title"] == INSULT_Q
        statuses = [r["status"] for r in fake.requests if r["path"].endswith("/callback")]
        assert statuses[:2] == [429, 200]
        assert_sane(fake)


async def test_a_dropped_gateway_is_resumed_and_questions_answered_again(
    fake_discord: FakeDiscord,
    engine: Engine,
    engine_config: EngineConfig,
    tmp_path: Path,
) -> None:
    fake = fake_discord
    async with storybot_running(fake, bot_settings(fake, tmp_path / "data", engine_config), lambda: engine):
        fake.drop_gateway()  # TCP gone without a close frame
        pending = await fake.slash_command("ask", {"question": INSULT_Q})  # buffered, replayed on RESUME
        await fake.wait_until(lambda: fake.resume_count == 1, timeout=20)
        await fake.wait_until_ready(10)
        assert (await pending.final_message(timeout=10))["embeds"][0]["title"] == INSULT_Q

        await fake.close_gateway(4000)  # an unknown-error close: discord.py resumes
        await fake.wait_until(lambda: fake.resume_count == 2, timeout=20)
        await fake.wait_until_ready(10)
        since = len(fake.messages)
        await fake.user_message(content=f"{fake.bot_mention} {INSULT_Q}")
        reply = await fake.wait_for_message(lambda m: m["kind"] == "channel", since=since, timeout=10)
        assert reply["embeds"][0]["title"] == INSULT_Q
        assert fake.identify_count == 1  # resumed, never re-identified
        assert_sane(fake)
