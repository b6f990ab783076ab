"""StorybotBot: the bot with its commands and buttons, given its settings and how to load the engine and records.

Startup work happens once in `setup_hook` (before the gateway connects): load the records,
load the engine (building the index first when missing or stale) and the engines of the servers
with stories of their own (`index.library.Library`), add the cogs and the
persistent buttons, sync commands to the host's servers. `on_ready` only logs: it fires again
after a failed RESUME.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import discord
import yarl
from discord.ext import tasks

from bot.cogs.admin import AdminCog
from bot.cogs.ask import AskCog
from bot.cogs.info import InfoCog
from bot.cogs.stories import StoriesCog
from bot.core import StorybotCore
from bot.views import ShowParagraphButton, VoteButton
from index.library import Library

if TYPE_CHECKING:
    from bot.records import Records
    from bot.settings import Settings
    from index import Engine

log = logging.getLogger(__name__)


def point_discord_at(api_url: str, gateway_url: str) -> Callable[[], None]:
    """Send REST calls (webhooks and interaction callbacks included) and the gateway elsewhere.

    discord.py reads these from class attributes, so this is process-wide; returns an undo.
    The webhook modules use `discord.http.Route` itself in discord.py 2.x; their own `Route` is
    patched too, in case a version gives them one of their own.
    """
    import discord.gateway
    import discord.http
    import discord.webhook.async_
    import discord.webhook.sync

    saved: list[tuple[Any, str, Any]] = []
    routes = {discord.http.Route, vars(discord.webhook.async_)["Route"], vars(discord.webhook.sync)["Route"]}
    for route in routes:
        saved.append((route, "BASE", route.BASE))
        route.BASE = api_url.rstrip("/")
    saved.append(
        (discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    )
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)

    def undo() -> None:
        for owner, name, value in reversed(saved):
            setattr(owner, name, value)

    return undo


class StorybotBot(StorybotCore):
    """The bot. Give it settings and factories for the engine and the records (None skips loading)."""

    shutdown_grace = 8.0
    """Seconds `close()` waits for questions already taken (inside `docker stop`'s 10 s)."""

    def __init__(
        self,
        *,
        settings: Settings,
        engine_factory: Callable[[], Engine] | None,
        records_factory: Callable[[], Records] | None,
        sync_on_start: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(settings=settings, **options)
        self._engine_factory = engine_factory
        self._records_factory = records_factory
        self._sync_on_start = sync_on_start

    async def setup_hook(self) -> None:
        if self._records_factory is not None:
            self.service.records = await asyncio.to_thread(self._records_factory)
            self.purge_records.start()
        if self._engine_factory is not None:
            log.info("Loading the model and the index (building the index first if it is missing or stale)")
            started = time.perf_counter()
            engine = await asyncio.to_thread(self._engine_factory)
            library = Library(engine)
            await asyncio.to_thread(library.open_guilds)  # the servers with stories of their own
            self.service.use_library(library)
            log.info(
                "Ready to answer from %d shared stories (index %s) after %.1f s",
                len(engine.stories),
                engine.corpus_hash[:8],
                time.perf_counter() - started,
            )
        await self.add_cog(AskCog(self))
        await self.add_cog(InfoCog(self))
        await self.add_cog(StoriesCog(self))
        await self.add_cog(AdminCog(self))
        self.add_dynamic_items(ShowParagraphButton, VoteButton)
        if self._sync_on_start:
            await self.sync_commands(global_=self.settings.sync_global)

    async def sync_commands(self, *, global_: bool) -> int:
        """Register the commands: in the host's servers (instant), or globally (then drop the server copies)."""
        count = 0
        if global_:
            count = len(await self.tree.sync())
            log.info("Synced %d commands globally", count)
        for guild_id in self.settings.guild_ids:
            guild = discord.Object(guild_id)
            self.tree.clear_commands(guild=guild)
            if not global_:
                self.tree.copy_global_to(guild=guild)
            try:
                synced = len(await self.tree.sync(guild=guild))
            except discord.Forbidden:
                log.warning(
                    "Cannot register commands in server %s: is the bot in it, invited with the "
                    "applications.commands scope? (`storybot invite-url`)",
                    guild_id,
                )
                continue
            if not global_:
                count += synced
                log.info("Synced %d commands to server %s", synced, guild_id)
        return count

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: questions in messages are handled by the ask cog's listener."""

    async def on_ready(self) -> None:
        log.info(
            "Connected as %s (id %s) in %d servers", self.user, self.user.id if self.user else "?", len(self.guilds)
        )

    # -- shutdown ------------------------------------------------------------------------------

    def _end_session_on_close(self) -> None:
        """Make the closing websocket frame carry 1000, so Discord ends the gateway session at once.

        discord.py's `close()` asks for 1000, but its reader task, woken by the close, closes
        the socket first with 4000: a resumable close that leaves the bot shown online for about
        two minutes (discord.py #6134). Only the socket being shut down for good is changed.
        """
        socket = getattr(self.ws, "socket", None)
        if socket is None or socket.closed:
            return
        close = socket.close

        async def close_normally(*, code: int = 1000, message: bytes = b"") -> bool:
            closed: bool = await close(code=1000, message=message)
            return closed

        socket.close = close_normally

    @tasks.loop(hours=24)
    async def purge_records(self) -> None:
        records = self.records
        if records is not None:
            gone = await asyncio.to_thread(records.purge)
            if gone:
                log.info("Purged %d expired records", gone)

    async def close(self) -> None:
        self.purge_records.cancel()
        left = await self.service.drain(self.shutdown_grace)  # answers already promised go out first
        if left:
            log.warning("Shutting down with %d question(s) still unanswered after %.0f s", left, self.shutdown_grace)
        self._end_session_on_close()
        await super().close()
        await self.service.close()
        if self.records is not None:
            await asyncio.to_thread(self.records.close)
            self.service.records = None
