"""`storybot run` and `storybot sync`: build the bot from settings, run it, turn failures into exit codes.

Exit codes: 0 clean shutdown (Ctrl-C or SIGTERM included), 1 Discord rejected the token or the
bot could not start, 2 no token configured (with how to get one). The token never reaches a
log line or an error message.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import discord

from bot.client import StorybotBot, point_discord_at
from bot.logs import RedactToken, configure_logging
from bot.records import Records
from index.errors import StorybotError

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)

TOKEN_HELP = """\
storybot: DISCORD_TOKEN is not set.

To get a bot token:
  1. Open https://discord.com/developers/applications and click "New Application".
  2. In "Bot", click "Reset Token" and copy the token.
  3. Put it in a file named .env next to where you run storybot:
         DISCORD_TOKEN=your-token-here
     (or export DISCORD_TOKEN in the environment). Keep it secret.

Intents: none of the privileged ones. storybot reads only messages that mention it, replies
that ping it and DMs, whose text Discord delivers without the Message Content intent.

Permissions: View Channels, Send Messages, Send Messages in Threads, Embed Links and Read
Message History, with the `bot` and `applications.commands` scopes. `storybot invite-url`
prints an invite link with exactly these.

Then set STORYBOT_GUILD_IDS to your server's id so the slash commands show up at once.
"""
REJECTED = (
    "Discord rejected DISCORD_TOKEN (401 Unauthorized): check the token in the developer portal (Bot → Reset Token)."
)


def build_bot(settings: Settings, **options: Any) -> StorybotBot:
    """The bot with its real dependencies: the engine (built first if needed) and the records."""
    from index import Engine
    from index.tuning import freeze_loaded_objects, tune_process

    config = settings.engine_config()
    tune_process()

    def open_engine() -> Engine:
        engine = Engine.open(config, build="if-needed")
        freeze_loaded_objects()
        return engine

    return StorybotBot(
        settings=settings,
        engine_factory=open_engine,
        records_factory=lambda: Records.from_settings(settings),
        **options,
    )


def _say(text: str, redactor: RedactToken) -> None:
    print(redactor.redact(text), file=sys.stderr)


async def _serve(bot: StorybotBot, token: str) -> None:
    """Run until closed; SIGINT/SIGTERM close the bot gracefully."""
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[None]] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows / not the main thread
            loop.add_signal_handler(sig, functools.partial(_stop, bot, sig, stopping))
    async with bot:
        await bot.start(token)
    # bot.start() returns as soon as the gateway closes, while the shutdown that the signal began
    # still has to close the records database; asyncio.run would cancel it half way.
    for task in stopping:
        await task


def _stop(bot: StorybotBot, sig: signal.Signals, stopping: list[asyncio.Task[None]]) -> None:
    log.info("Received %s: shutting down", sig.name)
    stopping.append(asyncio.get_running_loop().create_task(bot.close()))


def _run(settings: Settings, coro_factory: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """Common error handling around a coroutine that talks to Discord."""
    if not settings.discord_token:
        print(TOKEN_HELP, file=sys.stderr, end="")
        return 2
    redactor = configure_logging(settings.log_level, settings.discord_token)
    undo = point_discord_at(settings.discord_api_url, settings.discord_gateway_url)
    try:
        return asyncio.run(coro_factory())
    except discord.LoginFailure:
        _say(REJECTED, redactor)
        return 1
    except discord.PrivilegedIntentsRequired:
        _say(
            "Discord refused an intent storybot asked for; check the bot's settings in the developer portal.", redactor
        )
        return 1
    except StorybotError as exc:  # corpus, index, model or records problem at start: its message is for people
        _say(f"storybot: {exc}", redactor)
        return 1
    except (discord.HTTPException, discord.GatewayNotFound, discord.ConnectionClosed, OSError) as exc:
        log.debug("Discord connection failed", exc_info=True)
        _say(
            f"storybot: could not reach Discord ({exc.__class__.__name__}); check the network and try again.", redactor
        )
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        undo()


def run_bot(settings: Settings) -> int:
    """`storybot run`: answer questions until stopped. Returns the process exit code."""

    async def main() -> int:
        await _serve(build_bot(settings), settings.discord_token)
        return 0

    return _run(settings, main)


def sync_commands(settings: Settings, global_: bool) -> int:
    """`storybot sync [--global]`: register the slash commands, then exit. Returns the exit code."""

    async def main() -> int:
        bot = StorybotBot(settings=settings, engine_factory=None, records_factory=None, sync_on_start=False)
        async with bot:
            await bot.login(settings.discord_token)
            if not global_ and not settings.guild_ids:
                print("storybot: set STORYBOT_GUILD_IDS to your server ids, or use --global.", file=sys.stderr)
                return 2
            count = await bot.sync_commands(global_=global_)
        where = (
            "globally (they can take a while to show everywhere)"
            if global_
            else f"to {len(settings.guild_ids)} server(s)"
        )
        print(f"Synced {count} commands {where}.")
        return 0

    return _run(settings, main)
