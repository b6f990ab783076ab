"""`storybot run` / `storybot sync` exit codes, token hygiene, the invite URL."""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.invite import PERMISSIONS, application_id_from_token, invite_url
from bot.logs import REDACTED, RedactToken
from bot.runner import REJECTED, run_bot, sync_commands
from bot.settings import parse_settings
from tests.fake_discord import DefaultIds, FakeDiscord

REAL_LOOKING_TOKEN = "ODU1NTU1NTU1NTU1NTU1NTU1.GabcDE.abcdefghijklmnopqrstuvwxyz0123456789AB"


@contextmanager
def fake_in_thread() -> Iterator[tuple[FakeDiscord, asyncio.AbstractEventLoop]]:
    """A FakeDiscord on its own event loop thread, so a test can call the blocking runner."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> FakeDiscord:
        return await FakeDiscord.with_default_world().start()

    fake = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    try:
        yield fake, loop
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """The runner configures the root logger; put it back for the other tests."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    filters = {h: list(h.filters) for h in handlers}
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    for handler, kept in filters.items():
        handler.filters[:] = kept
    root.setLevel(level)


def test_missing_token_prints_how_to_get_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_bot(parse_settings({"DISCORD_TOKEN": "  "})) == 2
    err = capsys.readouterr().err
    assert "DISCORD_TOKEN is not set" in err and "developers/applications" in err
    assert "applications.commands" in err and "Message Content" in err
    assert sync_commands(parse_settings({}), True) == 2


def test_rejected_token_is_one_line_without_the_token(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, restore_logging: None, tmp_path: Path
) -> None:
    with fake_in_thread() as (fake, _):
        settings = parse_settings(
            {
                "DISCORD_TOKEN": REAL_LOOKING_TOKEN,
                "STORYBOT_DISCORD_API_URL": f"{fake.base_url}/api/v10",
                "STORYBOT_DISCORD_GATEWAY_URL": fake.gateway_url,
                "STORYBOT_DATA_DIR": str(tmp_path / "data"),
                "STORYBOT_INDEX_DIR": str(tmp_path / "index"),
            }
        )
        with caplog.at_level(logging.DEBUG):
            assert run_bot(settings) == 1
        assert fake.requests and fake.requests[0]["status"] == 401
    err = capsys.readouterr().err
    assert err.strip() == REJECTED
    assert REAL_LOOKING_TOKEN not in err and REAL_LOOKING_TOKEN not in caplog.text
    assert not (tmp_path / "index").exists()  # nothing was loaded or built for a bad token


def test_sync_registers_commands(capsys: pytest.CaptureFixture[str], restore_logging: None, tmp_path: Path) -> None:
    with fake_in_thread() as (fake, _):
        values = {
            "DISCORD_TOKEN": fake.token,
            "STORYBOT_DISCORD_API_URL": f"{fake.base_url}/api/v10",
            "STORYBOT_DISCORD_GATEWAY_URL": fake.gateway_url,
            "STORYBOT_GUILD_IDS": str(DefaultIds.guild),
        }
        assert sync_commands(parse_settings(values), False) == 0
        assert {c["name"] for c in fake.guild_commands[DefaultIds.guild]} == {
            "ask",
            "story",
            "help",
            "reindex",
            "Ask storybot",
        }
        assert sync_commands(parse_settings(values), True) == 0
        assert {c["name"] for c in fake.global_commands} == {"ask", "story", "help", "reindex", "Ask storybot"}
        assert not fake.guild_commands.get(DefaultIds.guild)  # no duplicates in the host's server
        assert not fake.gateway.connections  # sync needs no gateway session
    assert "Synced 5 commands" in capsys.readouterr().out


def test_redaction_filter_scrubs_message_args_and_tracebacks() -> None:
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Collect()
    handler.addFilter(RedactToken("my-secret-token"))
    logger = logging.getLogger("storybot.test.redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("token is %s", "my-secret-token")
        logger.warning("header Bot %s", REAL_LOOKING_TOKEN)
        try:
            raise RuntimeError(f"failed with my-secret-token and {REAL_LOOKING_TOKEN}")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    text = "\n".join(records)
    assert "my-secret-token" not in text and REAL_LOOKING_TOKEN not in text
    assert text.count(REDACTED) == 5


def test_invite_url_and_application_id() -> None:
    url = invite_url(855555555555555555)
    assert url == (
        "https://discord.com/oauth2/authorize?client_id=855555555555555555"
        f"&scope=bot+applications.commands&permissions={PERMISSIONS}"
    )
    assert PERMISSIONS == (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16) | (1 << 38)
    first = base64.b64encode(b"855555555555555555").decode().rstrip("=")
    assert application_id_from_token(f"{first}.GabcDE.xyz") == 855555555555555555
    assert application_id_from_token(REAL_LOOKING_TOKEN) == 855555555555555555
    assert application_id_from_token("not a token") is None
    assert application_id_from_token("") is None
