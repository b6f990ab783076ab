"""The bot as its commands and buttons see it: settings, the asking service, the reindexer, the command tree.

`bot.client.StorybotBot` builds on this class and adds the cogs and buttons (which type their
`bot` and `interaction.client` as `StorybotCore`) and the bot's life cycle. Keeping the two apart
keeps every import pointing one way: cogs and buttons import this module, never the client that
registers them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.errors import UserFacingError
from bot.reindex import Reindexer
from bot.service import AskService

if TYPE_CHECKING:
    from bot.records import Records
    from bot.settings import Settings
    from index import Engine

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
"""The client's `allowed_mentions`: discord.py applies it to every message and interaction response it sends."""


def bot_intents() -> discord.Intents:
    """Guilds, guild messages and DMs; no privileged intent (Discord delivers mentions' and DMs' text anyway)."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    return intents


class StorybotTree(app_commands.CommandTree["StorybotCore"]):
    """One error handler for every command: refusals ephemerally, anything else logged plus an apology."""

    async def on_error(
        self, interaction: discord.Interaction[StorybotCore], error: app_commands.AppCommandError
    ) -> None:
        original = getattr(error, "original", error)
        if isinstance(original, UserFacingError):
            text = original.text
        else:
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error("Command /%s failed", command, exc_info=original)
            text = render.APOLOGY_TEXT
        try:
            if not interaction.response.is_done():
                await interaction.response.send_message(text, ephemeral=True)
            elif interaction.response.type == discord.InteractionResponseType.deferred_channel_message:
                await interaction.edit_original_response(content=text, embed=None, view=None)
            else:
                await interaction.followup.send(text, ephemeral=True)
        except discord.HTTPException:
            log.warning("Could not tell the user about the error")


class StorybotCore(commands.Bot):
    """A discord.py bot that never pings anyone, with the services its commands use."""

    def __init__(self, *, settings: Settings, **options: Any) -> None:
        options.setdefault("intents", bot_intents())
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            allowed_mentions=NO_MENTIONS,
            tree_cls=StorybotTree,
            **options,
        )
        self.settings = settings
        self.service = AskService(settings)
        self.reindexer = Reindexer(self.service)

    @property
    def engine(self) -> Engine | None:
        return self.service.engine

    @property
    def records(self) -> Records | None:
        return self.service.records

    @property
    def reindexing(self) -> bool:
        return self.reindexer.running
