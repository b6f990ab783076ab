"""/story and /help, for everyone."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import render

if TYPE_CHECKING:
    from bot.core import StorybotCore


class InfoCog(commands.Cog):
    """What the bot knows and how to use it."""

    def __init__(self, bot: StorybotCore) -> None:
        self.bot = bot

    @app_commands.command(name="story")
    async def story(self, interaction: discord.Interaction[StorybotCore]) -> None:
        """What I answer from: the stories, their size, the model, when the index was built."""
        engine = self.bot.engine
        if engine is None:
            await interaction.response.send_message(render.NOT_READY_TEXT, ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        info = await asyncio.to_thread(engine.info)  # the staleness check reads the corpus folder
        card = render.render_story_info(info)
        await interaction.edit_original_response(embed=card.to_embed())

    @app_commands.command(name="help")
    async def help(self, interaction: discord.Interaction[StorybotCore]) -> None:
        """How to ask me, follow up, and what I record."""
        card = self.bot.service.help_card()
        await interaction.response.send_message(embed=card.to_embed(), ephemeral=True)
