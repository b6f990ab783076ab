"""Persistent answer buttons: "Show ¶N", 👍 and 👎, and on an unsure answer "This answers it" / "It doesn't".

They are `DynamicItem`s: everything they need is parsed back from their custom id (see
`bot.custom_ids`), so they keep working after a restart and with question logging off.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from bot import render
from bot.cards import ANSWERS_IT_LABEL, DOES_NOT_LABEL, ButtonSpec, Card
from bot.custom_ids import SHOW_TEMPLATE, VOTE_TEMPLATE, QuoteRef, VoteRef

if TYPE_CHECKING:
    from bot.core import StorybotCore

log = logging.getLogger(__name__)


async def _apologise(interaction: discord.Interaction[Any], what: str) -> None:
    log.exception("%s failed", what)
    try:
        if interaction.response.is_done():
            await interaction.followup.send(render.APOLOGY_TEXT, ephemeral=True)
        else:
            await interaction.response.send_message(render.APOLOGY_TEXT, ephemeral=True)
    except discord.HTTPException:
        log.warning("Could not send the apology either")


class ShowParagraphButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=SHOW_TEMPLATE):
    """Shows the quoted paragraph privately, quote in bold; says so if the story changed since.

    Only the stories of the server it is clicked in are looked at, so no other server's story shows.
    """

    def __init__(self, ref: QuoteRef, label: str | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or "Show paragraph", style=discord.ButtonStyle.secondary, custom_id=ref.custom_id()
            )
        )
        self.ref = ref

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ShowParagraphButton:
        return cls(QuoteRef.from_match(match), getattr(item, "label", None))

    async def callback(self, interaction: discord.Interaction[StorybotCore]) -> None:  # type: ignore[override]
        try:
            shown = interaction.client.service.paragraph(self.ref, interaction.guild_id)
            if isinstance(shown, str):
                await interaction.response.send_message(shown, ephemeral=True)
            else:
                await interaction.response.send_message(embed=shown.to_embed(), ephemeral=True)
        except Exception:
            await _apologise(interaction, "Show paragraph")


def _vote_button(ref: VoteRef) -> discord.ui.Button[Any]:
    if ref.unsure:
        label = ANSWERS_IT_LABEL if ref.up else DOES_NOT_LABEL
        style = discord.ButtonStyle.success if ref.up else discord.ButtonStyle.secondary
        return discord.ui.Button(label=label, style=style, custom_id=ref.custom_id())
    emoji = "👍" if ref.up else "👎"
    return discord.ui.Button(emoji=emoji, style=discord.ButtonStyle.secondary, custom_id=ref.custom_id())


class VoteButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=VOTE_TEMPLATE):
    """👍/👎 on an answer, or "This answers it"/"It doesn't" on an unsure one.

    Recorded once per person per answer (a second click changes the vote or says it was
    already given), acknowledged privately.
    """

    def __init__(self, ref: VoteRef) -> None:
        super().__init__(_vote_button(ref))
        self.ref = ref

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> VoteButton:
        return cls(VoteRef.from_match(match))

    async def callback(self, interaction: discord.Interaction[StorybotCore]) -> None:  # type: ignore[override]
        try:
            text = await interaction.client.service.vote(self.ref, interaction.user.id)
            await interaction.response.send_message(text, ephemeral=True)
        except Exception:
            await _apologise(interaction, "Vote")


def _item(spec: ButtonSpec) -> discord.ui.Item[Any]:
    quote = QuoteRef.parse(spec.custom_id)
    if quote is not None:
        return ShowParagraphButton(quote, spec.label)
    vote = VoteRef.parse(spec.custom_id)
    if vote is None:
        raise ValueError(f"not a storybot button: {spec.custom_id!r}")
    return VoteButton(vote)


def build_view(card: Card) -> discord.ui.View | None:
    """The card's buttons as a persistent view; None (no components) when it has none."""
    if not card.buttons:
        return None
    view = discord.ui.View(timeout=None)
    for spec in card.buttons:
        view.add_item(_item(spec))
    return view
