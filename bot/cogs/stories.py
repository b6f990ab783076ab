"""/story list, add and remove: what a server is answered from, and its admins' way to change it.

Thin: checks and texts come from `bot.story_changes`, fetching from `bot.fetching`, extraction from
`index.corpus.extract`, and storing, rebuilding and swapping from `index.library.Library`. A
command acts on the stories of the server it is used in; `shared: True` (or a DM) acts on the
shared stories, which only the admin users the host lists may change. Everything slow (the
download, the extraction, the rebuild) runs after `defer`, off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.cogs.admin import story_admin_check
from bot.errors import UserFacingError
from bot.fetching import FetchPolicy, fetch_document
from bot.story_changes import (
    change_card,
    check_source,
    check_upload,
    refusal_text,
    story_choices,
)
from bot.story_log import scope_text
from index.corpus.extract import ExtractedStory, extract_story
from index.corpus.naming import check_title
from index.corpus.scopes import is_own
from index.errors import StorybotError

if TYPE_CHECKING:
    from bot.core import StorybotCore
    from index.corpus.scopes import Scope
    from index.library import Library, StoryChange

log = logging.getLogger(__name__)
MAX_URL_CHARS = 2000
MAX_NAME_CHARS = 300


def scope_of(interaction: discord.Interaction[StorybotCore], shared: bool) -> Scope:
    """The stories a command acts on: the shared ones (asked for, or in a DM), else the server's own."""
    return None if shared or interaction.guild_id is None else interaction.guild_id


def _refused(text: str) -> UserFacingError:
    return UserFacingError(render.fit_prefix(text, 1900)[0])


class StoriesCog(
    commands.GroupCog,
    group_name="story",
    group_description="The stories I answer from here; admins add and remove them",
):
    """The `/story` command group."""

    def __init__(self, bot: StorybotCore) -> None:
        self.bot = bot
        super().__init__()

    def _library(self) -> Library:
        library = self.bot.service.library
        if library is None:
            raise UserFacingError(render.NOT_READY_TEXT)
        return library

    @app_commands.command(name="list")
    async def list_stories(self, interaction: discord.Interaction[StorybotCore]) -> None:
        """The stories I answer from here, their size, the model, when the index was built."""
        library = self._library()
        guild = interaction.guild_id
        engine = library.engine_for(guild)
        await interaction.response.defer(ephemeral=True, thinking=True)
        info = await asyncio.to_thread(engine.info)  # the staleness check reads the corpus folder
        own = {s.file for s in info.stories if is_own(s.file, guild)} if guild is not None else set()
        card = render.render_story_info(info, own if engine is not library.shared else ())
        await interaction.edit_original_response(embed=card.to_embed())

    @app_commands.command(name="add")
    @app_commands.describe(
        file="The story as a file: .txt, .md, .html or .pdf",
        url="Or a link to the story's web page or PDF",
        title="Its title (default: the one the document gives); a story with this title is updated",
        shared="Add it to the shared stories every server sees (the bot's listed admins only)",
    )
    async def add(
        self,
        interaction: discord.Interaction[StorybotCore],
        file: discord.Attachment | None = None,
        url: app_commands.Range[str, 1, MAX_URL_CHARS] | None = None,
        title: app_commands.Range[str, 1, 200] | None = None,
        shared: bool = False,
    ) -> None:
        """Add a story to this server's, from a file or a link; one with the same title is updated (admins)."""
        library = self._library()
        scope = scope_of(interaction, shared)
        story_admin_check(interaction, scope)
        max_bytes = self.bot.settings.max_story_bytes
        try:
            check_source(file is not None, url)
            if file is not None:
                check_upload(file.filename, file.size, max_bytes)
            wanted_title = check_title(title) if title is not None else None
        except StorybotError as exc:
            raise _refused(refusal_text(exc)) from None
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            if file is not None:
                origin, extracted = file.filename, await self._from_upload(file, wanted_title, max_bytes)
            else:
                assert url is not None
                origin, extracted = await self._from_link(url.strip(), wanted_title, max_bytes)
            change = await asyncio.to_thread(library.add_story, scope, extracted.text)
        except StorybotError as exc:
            raise _refused(refusal_text(exc)) from None
        await self._record(interaction, change, origin)
        await interaction.edit_original_response(embed=change_card(change, origin).to_embed())

    async def _from_upload(self, file: discord.Attachment, title: str | None, max_bytes: int) -> ExtractedStory:
        try:
            data = await file.read()
        except discord.HTTPException as exc:
            raise _refused(
                f"Nothing was added: the file could not be downloaded from Discord ({exc.status}); try again."
            ) from None
        return await asyncio.to_thread(
            partial(
                extract_story,
                data,
                filename=file.filename,
                content_type=file.content_type,
                title=title,
                max_bytes=max_bytes,
            )
        )

    async def _from_link(self, url: str, title: str | None, max_bytes: int) -> tuple[str, ExtractedStory]:
        document = await fetch_document(url, FetchPolicy.from_settings(self.bot.settings))
        content_type = document.content_type + (f"; charset={document.charset}" if document.charset else "")
        extracted = await asyncio.to_thread(
            partial(
                extract_story,
                document.body,
                content_type=content_type,
                source_url=document.url,
                title=title,
                max_bytes=max_bytes,
            )
        )
        return document.url, extracted

    @app_commands.command(name="remove")
    @app_commands.describe(
        name="The story's title (pick it as you type)",
        shared="Remove one of the shared stories every server sees (the bot's listed admins only)",
    )
    async def remove(
        self,
        interaction: discord.Interaction[StorybotCore],
        name: app_commands.Range[str, 1, MAX_NAME_CHARS],
        shared: bool = False,
    ) -> None:
        """Remove one of this server's stories; it is no longer answered from (admins)."""
        library = self._library()
        scope = scope_of(interaction, shared)
        story_admin_check(interaction, scope)
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            change = await asyncio.to_thread(library.remove_story, scope, name)
        except StorybotError as exc:
            raise _refused(refusal_text(exc, removing=True)) from None
        await self._record(interaction, change, None)
        await interaction.edit_original_response(embed=change_card(change, None).to_embed())

    @remove.autocomplete("name")
    async def remove_names(
        self, interaction: discord.Interaction[StorybotCore], current: str
    ) -> list[app_commands.Choice[str]]:
        """The stories `remove` could take here, from the loaded index (no disk read: Discord waits 3 s)."""
        library = self.bot.service.library
        if library is None:
            return []
        scope = scope_of(interaction, bool(getattr(interaction.namespace, "shared", False)))
        engine = library.shared if scope is None else library.own_engine(scope)
        if engine is None:
            return []
        return [app_commands.Choice(name=c.name, value=c.value) for c in story_choices(engine.stories, scope, current)]

    async def _record(
        self, interaction: discord.Interaction[StorybotCore], change: StoryChange, origin: str | None
    ) -> None:
        """Log the change in the records (who, where, which story, its hash); a failure is logged, not shown."""
        records = self.bot.records
        edit = change.edit
        if records is None or edit.action == "unchanged":
            return
        try:
            await asyncio.to_thread(
                partial(
                    records.record_story_change,
                    who=f"discord:{interaction.user.id}",
                    who_name=interaction.user.name,
                    scope=scope_text(edit.scope),
                    action=edit.action,
                    title=edit.story.title,
                    file=edit.story.file,
                    content_hash=edit.content_hash,
                    origin=origin,
                )
            )
        except Exception:
            log.exception("Could not record the story change")
