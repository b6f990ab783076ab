"""Fixtures for the bot's end-to-end tests: the real StorybotBot against the fake Discord.

tests/conftest.py registers this module (and tests/fake_discord/fixtures.py, with the fake's own
`fake_discord` fixture) in `pytest_plugins`; the session `engine_config`, `engine` and `embedder`
fixtures come from conftest.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.client import StorybotBot, point_discord_at
from bot.records import Records
from bot.settings import Settings, parse_settings
from index import Engine, EngineConfig
from tests.fake_discord import DefaultIds, FakeDiscord
from tests.fake_discord.fixtures import bot_running

__all__ = ["FastStorybot", "bot_settings", "own_engine_config", "storybot_running"]


class FastStorybot(StorybotBot):
    """discord.py waits 5 s before every non-initial IDENTIFY (a rate-limit courtesy); tests need not."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


def bot_settings(fake: FakeDiscord, data_dir: Path, config: EngineConfig, **overrides: str) -> Settings:
    """Settings pointing the bot at the fake (REST and gateway) and at `config`'s corpus and index.

    Built from a plain mapping, so no developer `.env` or real token is ever read.
    """
    values = {
        "DISCORD_TOKEN": fake.token,
        "STORYBOT_DISCORD_API_URL": f"{fake.base_url}/api/v10",
        "STORYBOT_DISCORD_GATEWAY_URL": fake.gateway_url,
        "STORYBOT_GUILD_IDS": str(DefaultIds.guild),
        "STORYBOT_CORPUS_DIR": str(config.corpus_dir),
        "STORYBOT_INDEX_DIR": str(config.index_dir),
        "STORYBOT_DATA_DIR": str(data_dir),
        "STORYBOT_COOLDOWN_SECONDS": "0",
    }
    values.update(overrides)
    return parse_settings(values)


@asynccontextmanager
async def storybot_running(
    fake: FakeDiscord,
    settings: Settings,
    engine_factory: Callable[[], Engine],
    *,
    records: bool = True,
    timeout: float = 30.0,
    **options: Any,
) -> AsyncIterator[StorybotBot]:
    """The real bot, pointed at the fake through its own settings, until the block ends."""
    undo = point_discord_at(settings.discord_api_url, settings.discord_gateway_url)
    try:
        bot = FastStorybot(
            settings=settings,
            engine_factory=engine_factory,
            records_factory=(lambda: Records.from_settings(settings)) if records else None,
            guild_ready_timeout=0.05,
            **options,
        )
        async with bot_running(fake, bot, patch=False, timeout=timeout):
            yield bot
    finally:
        undo()


@pytest.fixture
def own_engine_config(tmp_path: Path, engine_config: EngineConfig) -> EngineConfig:
    """A private copy of the bundled corpus and its built index, for tests that change the corpus."""
    root = tmp_path / "own"
    shutil.copytree(engine_config.corpus_dir, root / "corpus")
    shutil.copytree(engine_config.index_dir, root / "index")
    return EngineConfig(corpus_dir=root / "corpus", index_dir=root / "index")


@pytest.fixture
def settings_for(tmp_path: Path, engine_config: EngineConfig) -> Callable[..., Any]:
    """Settings for a bot on the fake Discord over the shared bundled index, records in tmp_path."""

    def make(fake: FakeDiscord, **overrides: str) -> Any:
        return bot_settings(fake, tmp_path / "data", engine_config, **overrides)

    return make
