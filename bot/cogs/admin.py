"""/reindex: rebuild the index from the corpus and swap it in without a restart (admins only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.errors import NotAdmin
from bot.guard import is_admin

if TYPE_CHECKING:
    from bot.core import StorybotCore


def admin_check(interaction: discord.Interaction[StorybotCore]) -> bool:
    """Manage Server on the host's servers, or a listed admin user/role; raises NotAdmin otherwise.

    Discord already hides the command from members without Manage Server (its default
    permission); this check also covers servers that granted it to others, and DMs.
    """
    settings = interaction.client.settings
    user = interaction.user
    roles = [role.id for role in user.roles] if isinstance(user, discord.Member) else []
    allowed = is_admin(
        user_id=user.id,
        guild_id=interaction.guild_id,
        role_ids=roles,
        manage_guild=interaction.guild_id is not None and interaction.permissions.manage_guild,
        admin_user_ids=settings.admin_user_ids,
        admin_role_ids=settings.admin_role_ids,
        host_guild_ids=settings.guild_ids,
    )
    if not allowed:
        raise NotAdmin
    return True


class AdminCog(commands.Cog):
    """Commands for the bot's host."""

    def __init__(self, bot: StorybotCore) -> None:
        self.bot = bot

    @app_commands.command(name="reindex")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.check(admin_check)
    async def reindex(self, interaction: discord.Interaction[StorybotCore]) -> None:
        """Rebuild the index from the stories on disk; I keep answering meanwhile (admins only)."""

        async def report(text: str) -> None:
            await interaction.followup.send(text, ephemeral=True)

        if not self.bot.reindexer.start(report):
            text = render.REINDEX_RUNNING_TEXT if self.bot.reindexing else render.NOT_READY_TEXT
            await interaction.response.send_message(text, ephemeral=True)
            return
        await interaction.response.send_message(render.REINDEX_STARTED_TEXT, ephemeral=True)
