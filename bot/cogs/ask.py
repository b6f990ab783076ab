"""Asking: /ask, the "Ask storybot" message command, @mentions, DMs and follow-up replies.

Thin: checks and answers come from `bot.service.AskService`; this module only reads questions
out of Discord objects (the engine's cleaning drops mentions, the bot's own included) and sends
the outcome back. A reply to one of the bot's answers is a follow-up: the earlier questions of
that conversation (from the records, else read back along the chain of replies) go with it as its
history. Nothing it sends can ping anyone: the client allows no mentions (`bot.core.NO_MENTIONS`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.custom_ids import VoteRef
from bot.history import MAX_HISTORY
from bot.render import FOOTER_ANSWERED, FOOTER_NOT_ANSWERED, question_from_title
from bot.service import Outcome
from bot.views import build_view

if TYPE_CHECKING:
    from bot.core import StorybotCore

log = logging.getLogger(__name__)
MAX_OPTION_CHARS = 4000  # the largest STORYBOT_MAX_QUESTION_CHARS; the setting is checked at run time
NO_TEXT = "That message has no text I can read as a question."


def answered_question(message: discord.Message, bot_id: int) -> str | None:
    """The question one of the bot's answers was about (read back from its title), else None."""
    if message.author.id != bot_id or not message.embeds:
        return None
    embed = message.embeds[0]
    if embed.footer.text not in (FOOTER_ANSWERED, FOOTER_NOT_ANSWERED) or not embed.title:
        return None
    return question_from_title(embed.title) or None


def answer_id_of(message: discord.Message) -> str | None:
    """The answer id one of the bot's answer cards carries in its vote buttons, else None."""
    for row in message.components:
        for child in getattr(row, "children", ()):
            vote = VoteRef.parse(getattr(child, "custom_id", None) or "")
            if vote is not None:
                return vote.answer_id
    return None


async def send_refusal(interaction: discord.Interaction[StorybotCore], outcome: Outcome) -> None:
    """A fast reply, privately: a short text, or a card (the help card for "hi")."""
    if outcome.card is not None:
        await interaction.response.send_message(embed=outcome.card.to_embed(), ephemeral=True)
    else:
        await interaction.response.send_message(outcome.text, ephemeral=True)


async def send_outcome(interaction: discord.Interaction[StorybotCore], outcome: Outcome) -> None:
    """Replace the deferred "thinking…" response with the answer or the short text."""
    if outcome.card is not None:
        await interaction.edit_original_response(embed=outcome.card.to_embed(), view=build_view(outcome.card))
    else:
        await interaction.edit_original_response(content=outcome.text)


async def answer_interaction(
    bot: StorybotCore, interaction: discord.Interaction[StorybotCore], question: str, *, via: str, ephemeral: bool
) -> None:
    """Shared by /ask and the message command: refuse fast and privately, else defer and answer."""
    refusal = bot.service.precheck(question, interaction.user.id)
    if refusal is not None:
        await send_refusal(interaction, refusal)
        return
    async with bot.service.handling():
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        outcome = await bot.service.answer(
            question, user_id=interaction.user.id, via=via, guild_id=interaction.guild_id
        )
        await send_outcome(interaction, outcome)


class AskCog(commands.Cog):
    """Every way of asking a question."""

    def __init__(self, bot: StorybotCore) -> None:
        self.bot = bot
        self.ask_menu = app_commands.ContextMenu(name="Ask storybot", callback=self.ask_about_message)
        self.bot.tree.add_command(self.ask_menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.ask_menu.name, type=self.ask_menu.type)

    @app_commands.command(name="ask")
    @app_commands.describe(
        question="What you want to know about the story",
        private="Show the answer only to you (default: everyone in the channel sees it)",
    )
    async def ask(
        self,
        interaction: discord.Interaction[StorybotCore],
        question: app_commands.Range[str, 1, MAX_OPTION_CHARS],
        private: bool = False,
    ) -> None:
        """Ask about the story: I answer with verbatim quotes and cite where they come from."""
        await answer_interaction(self.bot, interaction, question, via="slash", ephemeral=private)

    async def ask_about_message(self, interaction: discord.Interaction[StorybotCore], message: discord.Message) -> None:
        """Ask storybot the question written in a message."""
        if not message.content.strip():
            await interaction.response.send_message(NO_TEXT, ephemeral=True)
            return
        await answer_interaction(self.bot, interaction, message.content, via="context_menu", ephemeral=False)

    # -- messages ------------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Answer DMs and messages that mention the bot; a reply to an answer is a follow-up."""
        me = self.bot.user
        if (
            me is None
            or message.author.bot
            or message.type not in (discord.MessageType.default, discord.MessageType.reply)
        ):
            return
        if message.guild is not None and not any(user.id == me.id for user in message.mentions):
            return
        async with self.bot.service.handling():
            try:
                await self._answer_message(message, me.id)
            except Exception:
                log.exception("Answering a message failed")
                await self._reply(message, Outcome(text=render.APOLOGY_TEXT))

    async def _answer_message(self, message: discord.Message, bot_id: int) -> None:
        history = await self._conversation(message, bot_id)
        via = "follow_up" if history else ("dm" if message.guild is None else "mention")
        refusal = self.bot.service.precheck(message.content, message.author.id)
        if refusal is not None:
            await self._reply(message, refusal)
            return
        outcome = await self.bot.service.answer(
            message.content,
            user_id=message.author.id,
            via=via,
            history=history,
            guild_id=message.guild.id if message.guild is not None else None,
        )
        await self._reply(message, outcome)

    async def _conversation(self, message: discord.Message, bot_id: int) -> list[str]:
        """The earlier questions, oldest first, when `message` replies to one of the bot's answers.

        The replied-to answer's question, and the questions before it: from the records when
        they hold that answer, else read back along the replies (answer → question → answer…).
        """
        target = await self._replied_to(message)
        question = answered_question(target, bot_id) if target is not None else None
        if target is None or question is None:
            return []
        answer_id = answer_id_of(target)
        recorded = await self.bot.service.conversation(answer_id) if answer_id else None
        if recorded:
            return recorded[-MAX_HISTORY:]
        earlier: list[str] = []
        current = target
        while len(earlier) < MAX_HISTORY - 1:
            asked = await self._replied_to(current)  # the message this answer answered
            previous = await self._replied_to(asked) if asked is not None else None
            before = answered_question(previous, bot_id) if previous is not None else None
            if previous is None or before is None:
                break
            earlier.insert(0, before)
            current = previous
        return [*earlier, question]

    async def _replied_to(self, message: discord.Message) -> discord.Message | None:
        """The message `message` replies to (from the event, the cache, or fetched), else None."""
        reference = message.reference
        if reference is None or reference.message_id is None:
            return None
        target = reference.resolved if isinstance(reference.resolved, discord.Message) else reference.cached_message
        if target is None:
            try:
                target = await message.channel.fetch_message(reference.message_id)
            except discord.HTTPException:
                return None
        return target

    async def _reply(self, message: discord.Message, outcome: Outcome) -> None:
        reference = message.to_reference(fail_if_not_exists=False)
        if outcome.card is not None:
            view = build_view(outcome.card)
            await message.channel.send(
                embed=outcome.card.to_embed(),
                view=view if view is not None else discord.utils.MISSING,
                reference=reference,
                mention_author=False,
            )
        else:
            await message.channel.send(outcome.text, reference=reference, mention_author=False)
