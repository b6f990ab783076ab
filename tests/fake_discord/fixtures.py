"""Pytest fixtures and a bot harness for the fake.

tests/conftest.py registers this module in `pytest_plugins`, so every test module can ask for
`fake_discord` without importing it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import pytest_asyncio

from .discordpy import point_discord_py_at
from .fake import FakeDiscord

if TYPE_CHECKING:
    import discord


@pytest_asyncio.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A started FakeDiscord with the default world and a 1 s heartbeat; stopped afterwards."""
    fake = FakeDiscord.with_default_world()
    fake.heartbeat_interval_ms = 1000
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@asynccontextmanager
async def bot_running(
    fake: FakeDiscord, client: discord.Client, *, patch: bool = True, timeout: float = 10.0
) -> AsyncIterator[discord.Client]:
    """Run client.start() against the fake until the block ends; always closes the client.

    patch=False when the bot points itself at the fake (e.g. from its settings).
    """
    undo = point_discord_py_at(fake) if patch else None
    task = asyncio.create_task(client.start(fake.token))
    try:
        ready = asyncio.create_task(client.wait_until_ready())
        done, _ = await asyncio.wait({ready, task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            if task in done:
                task.result()  # re-raise LoginFailure, ConnectionClosed, ...
            raise TimeoutError(f"bot not ready within {timeout}s; fake connections={fake.connections}")
        yield client
    finally:
        await client.close()
        try:
            await asyncio.wait_for(task, 5)
        finally:
            if undo is not None:
                undo()
