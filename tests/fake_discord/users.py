"""UserActions: where simulated users are, and the messages they post (interactions live in fake.py)."""

from __future__ import annotations

from typing import Any

from . import messaging, payloads
from .cdn import Upload
from .gateway import INTENT_DIRECT_MESSAGES, INTENT_GUILD_MESSAGES, INTENT_MESSAGE_CONTENT
from .server import FakeDiscordCore

JSON = dict[str, Any]


def message_id(message: JSON | int | str) -> int:
    """Accept a message object, a sent-message record, or an id."""
    if isinstance(message, dict):
        return int(message["id"])
    return int(message)


class UserActions(FakeDiscordCore):
    """FakeDiscordCore plus the plumbing every simulated user action shares, and user messages."""

    def _where(self, user_id: int, guild_id: int | None, channel_id: int | None, dm: bool) -> tuple[int | None, int]:
        """Resolve (guild_id, channel_id) from the arguments and the default world."""
        if dm:
            return None, self.world.dm_channel(user_id).id
        if channel_id is not None:
            channel = self.world.channel(channel_id)
            if channel is None:
                raise ValueError(f"unknown channel {channel_id}")
            if guild_id is not None and channel.guild_id != guild_id:
                raise ValueError(f"channel {channel_id} is not in guild {guild_id}")
            return channel.guild_id, channel_id
        if guild_id is None and self.ids is not None:
            guild_id = self.ids.guild
        if guild_id is None:
            return None, self.world.dm_channel(user_id).id
        channels = list(self.world.guilds[guild_id].channels)
        if not channels:
            raise ValueError(f"guild {guild_id} has no channel")
        return guild_id, channels[0]

    def _default_user(self, user_id: int | None) -> int:
        if user_id is not None:
            return user_id
        if self.ids is None:
            raise ValueError("user_id is required without the default world")
        return self.ids.member

    # ------------------------------------------------------------ messages
    async def user_message(
        self,
        channel_id: int | None = None,
        author_id: int | None = None,
        content: str = "",
        *,
        mentions: list[int | JSON] | None = None,
        guild_id: int | None = None,
        dm: bool = False,
        reply_to: JSON | int | None = None,
        message_reference: JSON | None = None,
        referenced_message: JSON | None = None,
        mention_author: bool = True,
        embeds: list[JSON] | None = None,
        attachments: list[JSON | Upload] | None = None,
    ) -> JSON:
        """A user posts a message; returns the stored (full-content) message object.

        Without the MESSAGE_CONTENT intent the dispatched copy is blanked unless it is a DM or
        mentions the bot, exactly like Discord. reply_to builds message_reference and
        referenced_message; a reply pings the replied author when mention_author is true.
        attachments: Uploads (stored on the fake's CDN, downloadable) or ready attachment objects.
        """
        uid = self._default_user(author_id)
        gid, cid = self._where(uid, guild_id, channel_id, dm)
        if gid is not None and uid not in self.world.guilds[gid].members:
            raise ValueError(f"user {uid} is not a member of guild {gid}")
        if reply_to is not None:
            referenced_message = self.get_message(message_id(reply_to))
        if message_reference is not None and referenced_message is None:
            referenced_message = self.store.get(int(message_reference["message_id"]))
        if referenced_message is not None and message_reference is None:
            message_reference = {
                "type": 0,
                "message_id": referenced_message["id"],
                "channel_id": referenced_message["channel_id"],
            }
            if gid is not None:
                message_reference["guild_id"] = str(gid)
        mention_ids = messaging.parse_mentions(content) + [
            int(m["id"]) if isinstance(m, dict) else int(m) for m in mentions or []
        ]
        if referenced_message is not None and mention_author:
            mention_ids.append(int(referenced_message["author"]["id"]))
        message = payloads.message_payload(
            message_id=self.snowflakes.next(),
            channel_id=cid,
            author=self.world.user(uid),
            content=content,
            embeds=embeds,
            attachments=[
                self.cdn.add(a, channel_id=cid, ephemeral=False, max_size=payloads.ATTACHMENT_SIZE_LIMIT)
                if isinstance(a, Upload)
                else a
                for a in attachments or []
            ],
            mentions=messaging.mention_payloads(self, mention_ids, gid),
            message_type=messaging.TYPE_REPLY if message_reference else messaging.TYPE_DEFAULT,
            message_reference=message_reference,
            referenced_message=messaging._strip_reference(referenced_message),
        )
        self.store.put(message)
        event = messaging.gateway_message(self, message)
        if (
            not self.gateway.intents() & INTENT_MESSAGE_CONTENT
            and gid is not None
            and self.bot_user_id not in mention_ids
        ):
            event.update(content="", embeds=[], attachments=[], components=[])
            event.pop("poll", None)
        intent = INTENT_GUILD_MESSAGES if gid is not None else INTENT_DIRECT_MESSAGES
        await self.gateway.dispatch("MESSAGE_CREATE", event, required_intent=intent)
        return message
