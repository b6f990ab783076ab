"""Turning what the bot sends into stored Discord messages and gateway echoes.

Shared by the channel-message and interaction/webhook routes so both produce identical
message objects (ids, author, mentions, attachments) and the same MESSAGE_* dispatches
Discord would emit for them.
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from . import payloads
from .gateway import INTENT_DIRECT_MESSAGES, INTENT_GUILD_MESSAGES
from .payloads import MESSAGE_FLAG_EPHEMERAL

if TYPE_CHECKING:
    from .server import FakeDiscordCore

JSON = dict[str, Any]

MENTION_RE = re.compile(r"<@!?(\d+)>")
TYPE_DEFAULT, TYPE_REPLY, TYPE_CHAT_INPUT, TYPE_CONTEXT_MENU = 0, 19, 20, 23


def guild_of(fake: FakeDiscordCore, channel_id: int) -> int | None:
    channel = fake.world.channel(channel_id)
    return channel.guild_id if channel else None


def mention_payloads(fake: FakeDiscordCore, user_ids: list[int], guild_id: int | None) -> list[JSON]:
    """The mentions array: user objects, with a partial member inside guilds."""
    result: list[JSON] = []
    seen: set[int] = set()
    for uid in user_ids:
        if uid in seen:
            continue
        seen.add(uid)
        data = payloads.user_payload(fake.world.user(uid))
        guild = fake.world.guilds.get(guild_id) if guild_id else None
        if guild is not None and uid in guild.members:
            data["member"] = payloads.member_payload(guild.members[uid], None)
        result.append(data)
    return result


def parse_mentions(content: str | None) -> list[int]:
    return [int(m) for m in MENTION_RE.findall(content or "")]


def build_attachments(fake: FakeDiscordCore, payload: JSON, files: list[JSON], *, channel_id: int) -> list[JSON]:
    """Attachment objects for uploaded files (payload 'attachments' may rename/describe them).

    The bytes go to the fake's CDN, so the attachment URLs can be downloaded like Discord's."""
    described = {str(a.get("id")): a for a in payload.get("attachments") or []}
    result = []
    for index, file in enumerate(files):
        meta = described.get(str(index), {})
        result.append(
            fake.cdn.add_bot_file(
                file,
                channel_id=channel_id,
                filename=meta.get("filename") or file["filename"],
                description=meta.get("description"),
            )
        )
    return result


def create_bot_message(
    fake: FakeDiscordCore,
    *,
    channel_id: int,
    payload: JSON,
    files: list[JSON],
    message_type: int,
    flags: int,
    extra: JSON | None = None,
    referenced: JSON | None = None,
    webhook: bool = False,
) -> JSON:
    """Build and store a message authored by the bot from a create payload."""
    guild_id = guild_of(fake, channel_id)
    mention_ids = parse_mentions(payload.get("content"))
    allowed = payload.get("allowed_mentions")
    if referenced is not None and (allowed is None or allowed.get("replied_user", False)):
        mention_ids.append(int(referenced["author"]["id"]))
    ref = payload.get("message_reference")
    message = payloads.message_payload(
        message_id=fake.snowflakes.next(),
        channel_id=channel_id,
        author=fake.bot_user,
        content=payload.get("content") or "",
        embeds=payload.get("embeds"),
        components=payload.get("components"),
        attachments=build_attachments(fake, payload, files, channel_id=channel_id),
        mentions=mention_payloads(fake, mention_ids, guild_id),
        flags=flags,
        message_type=message_type,
        message_reference=_reference(ref, channel_id, guild_id) if ref and referenced is not None else None,
        referenced_message=_strip_reference(referenced),
        webhook_id=fake.application_id if webhook else None,
        application_id=fake.application_id if webhook else None,
        extra=extra,
    )
    if payload.get("poll"):
        message["poll"] = payload["poll"]
    if payload.get("nonce") is not None:
        message["nonce"] = payload["nonce"]
    return fake.store.put(message)


def _reference(ref: JSON, channel_id: int, guild_id: int | None) -> JSON:
    data: JSON = {"type": int(ref.get("type", 0)), "message_id": str(ref["message_id"])}
    data["channel_id"] = str(ref.get("channel_id") or channel_id)
    if guild_id is not None:
        data["guild_id"] = str(ref.get("guild_id") or guild_id)
    return data


def _strip_reference(message: JSON | None) -> JSON | None:
    """Discord nests referenced_message only one level deep."""
    if message is None:
        return None
    data = copy.deepcopy(message)
    data.pop("referenced_message", None)
    return data


def gateway_message(fake: FakeDiscordCore, message: JSON) -> JSON:
    """A stored message as MESSAGE_CREATE/UPDATE carries it (guild_id and author member added)."""
    data = copy.deepcopy(message)
    guild_id = guild_of(fake, int(message["channel_id"]))
    if guild_id is not None:
        data["guild_id"] = str(guild_id)
        member = fake.world.guilds[guild_id].members.get(int(message["author"]["id"]))
        if member is not None:
            data["member"] = payloads.member_payload(member, None)
    return data


def _intent_for(fake: FakeDiscordCore, channel_id: int) -> int:
    return INTENT_GUILD_MESSAGES if guild_of(fake, channel_id) is not None else INTENT_DIRECT_MESSAGES


async def echo(fake: FakeDiscordCore, event: str, message: JSON) -> None:
    """Dispatch MESSAGE_CREATE/UPDATE for a bot message (never for ephemeral ones), like Discord."""
    if not fake.echo_bot_messages or int(message.get("flags", 0)) & MESSAGE_FLAG_EPHEMERAL:
        return
    if not fake.gateway.has_session():
        return
    channel_id = int(message["channel_id"])
    await fake.gateway.dispatch(event, gateway_message(fake, message), required_intent=_intent_for(fake, channel_id))


async def echo_delete(fake: FakeDiscordCore, message: JSON) -> None:
    """Dispatch MESSAGE_DELETE for a deleted non-ephemeral message."""
    if not fake.echo_bot_messages or int(message.get("flags", 0)) & MESSAGE_FLAG_EPHEMERAL:
        return
    if not fake.gateway.has_session():
        return
    channel_id = int(message["channel_id"])
    data: JSON = {"id": message["id"], "channel_id": message["channel_id"]}
    guild_id = guild_of(fake, channel_id)
    if guild_id is not None:
        data["guild_id"] = str(guild_id)
    await fake.gateway.dispatch("MESSAGE_DELETE", data, required_intent=_intent_for(fake, channel_id))
