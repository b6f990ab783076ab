"""/help, for everyone (what the bot answers from is `/story list`, in `bot.cogs.stories`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

if TYPE_CHECKING:
    from bot.core import StorybotCore


class InfoCog(commands.Cog):
    """How to use the bot."""

    def __init__(self, bot: StorybotCore) -> None:
        self.bot = bot

    @app_commands.command(name="help")
    async def help(self, interaction: discord.Interaction[StorybotCore]) -> None:
        """How to ask me, follow up, and what I record."""
        card = self.bot.service.help_card()
        await interaction.response.send_message(embed=card.to_embed(), ephemeral=True)
