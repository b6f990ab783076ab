"""/reindex: rebuild the caller's index from the stories on disk and swap it in without a restart (admins only)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.errors import NotAdmin, NotAllowed
from bot.guard import is_admin, may_change_stories

if TYPE_CHECKING:
    from bot.core import StorybotCore
    from index.corpus.scopes import Scope


def role_ids(interaction: discord.Interaction[StorybotCore]) -> list[int]:
    user = interaction.user
    return [role.id for role in user.roles] if isinstance(user, discord.Member) else []


async def admin_check(interaction: discord.Interaction[StorybotCore]) -> bool:
    """May this user rebuild the index this server is answered from? Raises NotAdmin or NotAllowed if not.

    In a server with stories of its own, that server's admins may (see `story_admin_check`); the
    scope found is kept in `interaction.extras["scope"]` for the command. Otherwise it is the shared
    index, which every server without stories of its own and every DM is answered from: Manage
    Server on the host's servers, or a listed admin user/role. Discord already hides the command
    from members without Manage Server (its default permission); this check also covers servers
    that granted it to others, and DMs.
    """
    library = interaction.client.service.library
    scope = await asyncio.to_thread(library.scope_of, interaction.guild_id) if library is not None else None
    interaction.extras["scope"] = scope
    if scope is not None:
        story_admin_check(interaction, scope)
        return True
    shared_admin_check(interaction)
    return True


def shared_admin_check(interaction: discord.Interaction[StorybotCore]) -> None:
    """Manage Server on the host's servers, or a listed admin user/role; raises NotAdmin otherwise."""
    settings = interaction.client.settings
    allowed = is_admin(
        user_id=interaction.user.id,
        guild_id=interaction.guild_id,
        role_ids=role_ids(interaction),
        manage_guild=interaction.guild_id is not None and interaction.permissions.manage_guild,
        admin_user_ids=settings.admin_user_ids,
        admin_role_ids=settings.admin_role_ids,
        host_guild_ids=settings.guild_ids,
    )
    if not allowed:
        raise NotAdmin


def story_admin_check(interaction: discord.Interaction[StorybotCore], scope: Scope) -> None:
    """May this user change `scope`'s stories? Raises NotAllowed, saying who may, otherwise."""
    settings = interaction.client.settings
    allowed = may_change_stories(
        scope=scope,
        user_id=interaction.user.id,
        guild_id=interaction.guild_id,
        role_ids=role_ids(interaction),
        manage_guild=interaction.guild_id is not None and interaction.permissions.manage_guild,
        admin_user_ids=settings.admin_user_ids,
        admin_role_ids=settings.admin_role_ids,
    )
    if not allowed:
        raise NotAllowed(render.NOT_SHARED_ADMIN_TEXT if scope is None else render.NOT_SERVER_ADMIN_TEXT)


class AdminCog(commands.Cog):
    """Commands for the bot's host and each server's admins."""

    def __init__(self, bot: StorybotCore) -> None:
        self.bot = bot

    @app_commands.command(name="reindex")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.check(admin_check)
    async def reindex(self, interaction: discord.Interaction[StorybotCore]) -> None:
        """Rebuild this server's index from the stories on disk; I keep answering meanwhile (admins only)."""
        scope: Scope = interaction.extras.get("scope")

        async def report(text: str) -> None:
            await interaction.followup.send(text, ephemeral=True)

        if not self.bot.reindexer.start(scope, report):
            text = render.REINDEX_RUNNING_TEXT if self.bot.reindexer.running_for(scope) else render.NOT_READY_TEXT
            await interaction.response.send_message(text, ephemeral=True)
            return
        await interaction.response.send_message(render.REINDEX_STARTED_TEXT, ephemeral=True)
