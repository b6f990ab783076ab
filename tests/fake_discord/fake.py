"""FakeDiscord: the core server plus what simulated users do (commands, clicks, modals, messages).

Each action builds the payload Discord would deliver and dispatches it on the bot's
gateway session; interactions return an InteractionHandle to await the bot's answer.
"""

from __future__ import annotations

import copy
import secrets
from typing import Any

from . import messaging, payloads
from .gateway import (
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MESSAGES,
    INTENT_MESSAGE_CONTENT,
)
from .handles import InteractionHandle
from .records import InteractionRecord
from .server import FakeDiscordCore
from .simulate import (
    OptionBuilder,
    custom_ids,
    find_component,
    interaction_channel,
    modal_submit_components,
)
from .world import (
    ADD_REACTIONS,
    ATTACH_FILES,
    EMBED_LINKS,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    VIEW_CHANNEL,
)

JSON = dict[str, Any]
DM_APP_PERMISSIONS = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY | ADD_REACTIONS


def _message_id(message: JSON | int | str) -> int:
    """Accept a message object, a sent-message record, or an id."""
    if isinstance(message, dict):
        return int(message["id"])
    return int(message)


class FakeDiscord(FakeDiscordCore):
    """The fake Discord tests use: FakeDiscordCore plus simulated users (this module)."""

    def handle(self, interaction_id: int) -> InteractionHandle:
        """A handle on an interaction dispatched earlier."""
        return InteractionHandle(self, self.interactions[interaction_id])

    # ------------------------------------------------------------ plumbing
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

    async def _dispatch_interaction(
        self,
        *,
        interaction_type: int,
        data: JSON,
        user_id: int,
        guild_id: int | None,
        channel_id: int,
        locale: str = "en-US",
        message: JSON | None = None,
        command: JSON | None = None,
    ) -> InteractionHandle:
        if guild_id is not None and user_id not in self.world.guilds[guild_id].members:
            raise ValueError(f"user {user_id} is not a member of guild {guild_id}")
        interaction_id = self.snowflakes.next()
        token = "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(96)
        guild = self.world.guilds.get(guild_id) if guild_id is not None else None
        member = None
        app_perms = DM_APP_PERMISSIONS
        if guild is not None:
            perms = self.world.permissions(guild.id, user_id)
            member = payloads.member_payload(guild.members[user_id], self.world.user(user_id), permissions=perms)
            app_perms = self.world.permissions(guild.id, self.bot_user_id)
        payload = payloads.interaction_payload(
            interaction_id=interaction_id,
            application_id=self.application_id,
            interaction_type=interaction_type,
            token=token,
            data=data,
            user=self.world.user(user_id),
            channel=interaction_channel(self.world, channel_id, user_id),
            guild=guild,
            member=member,
            app_permissions=app_perms,
            locale=locale,
            message=copy.deepcopy(message) if message is not None else None,
        )
        record = InteractionRecord(
            id=interaction_id,
            token=token,
            type=interaction_type,
            payload=payload,
            user_id=user_id,
            channel_id=channel_id,
            guild_id=guild_id,
            command_name=command["name"] if command else None,
            command_type=int(command.get("type", 1)) if command else None,
            source_message_id=int(message["id"]) if message is not None else None,
        )
        self.interactions[interaction_id] = record
        self.interactions_by_token[token] = record
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        return InteractionHandle(self, record)

    def _command(self, name: str, guild_id: int | None, command_type: int) -> JSON:
        command = self.commands.find(name, guild_id, command_type)
        if command is None:
            raise LookupError(
                f"command {name!r} (type {command_type}) is not registered for guild {guild_id}; "
                f"global={[c['name'] for c in self.global_commands]} "
                f"guild={[c['name'] for c in self.guild_commands.get(guild_id or 0, [])]}"
            )
        if guild_id is None and command.get("contexts") is not None and 1 not in command["contexts"]:
            raise LookupError(f"command {name!r} is not usable in DMs (contexts={command['contexts']})")
        if guild_id is None and command.get("dm_permission") is False:
            raise LookupError(f"command {name!r} is not usable in DMs (dm_permission false)")
        return command

    # ------------------------------------------------------------ commands
    async def slash_command(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user_id: int | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        dm: bool = False,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """Run "/name [subcommand...]" with options {name: value}; guild/channel default to the default world."""
        return await self._chat_input(name, options, None, user_id, guild_id, channel_id, dm, locale)

    async def autocomplete(
        self,
        name: str,
        options: dict[str, Any],
        focused: str,
        *,
        user_id: int | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        dm: bool = False,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """A user typing into option `focused` (its value is the partial text); the callback holds the choices."""
        return await self._chat_input(name, options, focused, user_id, guild_id, channel_id, dm, locale)

    async def _chat_input(
        self,
        name: str,
        options: dict[str, Any] | None,
        focused: str | None,
        user_id: int | None,
        guild_id: int | None,
        channel_id: int | None,
        dm: bool,
        locale: str,
    ) -> InteractionHandle:
        uid = self._default_user(user_id)
        gid, cid = self._where(uid, guild_id, channel_id, dm)
        parts = name.split()
        command = self._command(parts[0], gid, 1)
        builder = OptionBuilder(self.world, gid, self.snowflakes.next)
        data: JSON = {"id": command["id"], "name": command["name"], "type": 1}
        built = builder.build(command, parts[1:], dict(options or {}), focused)
        if built:
            data["options"] = built
        if builder.resolved:
            data["resolved"] = builder.resolved
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return await self._dispatch_interaction(
            interaction_type=4 if focused is not None else 2,
            data=data,
            user_id=uid,
            guild_id=gid,
            channel_id=cid,
            locale=locale,
            command=command,
        )

    async def message_command(
        self, name: str, target_message: JSON | int, *, user_id: int | None = None, locale: str = "en-US"
    ) -> InteractionHandle:
        """Run a message context-menu command on a stored message (bot's or a user's)."""
        target = self.get_message(_message_id(target_message))
        uid = self._default_user(user_id)
        cid = int(target["channel_id"])
        gid = messaging.guild_of(self, cid)
        command = self._command(name, gid, 3)
        resolved_msg = copy.deepcopy(target)
        data: JSON = {
            "id": command["id"],
            "name": command["name"],
            "type": 3,
            "target_id": target["id"],
            "resolved": {"messages": {target["id"]: resolved_msg}},
        }
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return await self._dispatch_interaction(
            interaction_type=2, data=data, user_id=uid, guild_id=gid, channel_id=cid, locale=locale, command=command
        )

    async def user_command(
        self,
        name: str,
        target_user_id: int,
        *,
        user_id: int | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        dm: bool = False,
    ) -> InteractionHandle:
        """Run a user context-menu command on target_user_id."""
        uid = self._default_user(user_id)
        gid, cid = self._where(uid, guild_id, channel_id, dm)
        command = self._command(name, gid, 2)
        builder = OptionBuilder(self.world, gid, self.snowflakes.next)
        builder._add_user(target_user_id)
        data: JSON = {
            "id": command["id"],
            "name": command["name"],
            "type": 2,
            "target_id": str(target_user_id),
            "resolved": builder.resolved,
        }
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return await self._dispatch_interaction(
            interaction_type=2, data=data, user_id=uid, guild_id=gid, channel_id=cid, command=command
        )

    # ---------------------------------------------------------- components
    async def _component(
        self, message: JSON | int, custom_id: str, user_id: int | None, values: list[str] | None
    ) -> InteractionHandle:
        stored = self.get_message(_message_id(message))
        component = find_component(stored.get("components") or [], custom_id)
        if component is None:
            raise LookupError(
                f"message {stored['id']} has no component {custom_id!r}; "
                f"it has {custom_ids(stored.get('components') or [])}"
            )
        if component.get("disabled"):
            raise LookupError(f"component {custom_id!r} is disabled; a user cannot use it")
        uid = self._default_user(user_id)
        cid = int(stored["channel_id"])
        data: JSON = {"custom_id": custom_id, "component_type": component["type"]}
        if values is not None:
            data["values"] = values
        return await self._dispatch_interaction(
            interaction_type=3,
            data=data,
            user_id=uid,
            guild_id=messaging.guild_of(self, cid),
            channel_id=cid,
            message=stored,
        )

    async def click_button(
        self, message: JSON | int, custom_id: str, *, user_id: int | None = None
    ) -> InteractionHandle:
        """Click the button `custom_id` on a stored message (object, sent-record or id)."""
        return await self._component(message, custom_id, user_id, None)

    async def select_menu(
        self, message: JSON | int, custom_id: str, values: list[str], *, user_id: int | None = None
    ) -> InteractionHandle:
        """Choose `values` in the select menu `custom_id` on a stored message."""
        return await self._component(message, custom_id, user_id, list(values))

    async def submit_modal(self, source: InteractionHandle, modal: JSON, values: dict[str, Any]) -> InteractionHandle:
        """Submit a modal (the data of a type-9 callback) with {custom_id: value}."""
        rec = source.record
        data = {"custom_id": modal["custom_id"], "components": modal_submit_components(modal, values)}
        message = self.store.get(rec.source_message_id) if rec.source_message_id else None
        return await self._dispatch_interaction(
            interaction_type=5,
            data=data,
            user_id=rec.user_id,
            guild_id=rec.guild_id,
            channel_id=rec.channel_id,
            message=message,
        )

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
        attachments: list[JSON] | None = None,
    ) -> JSON:
        """A user posts a message; returns the stored (full-content) message object.

        Without the MESSAGE_CONTENT intent the dispatched copy is blanked unless it is a DM or
        mentions the bot, exactly like Discord. reply_to builds message_reference and
        referenced_message; a reply pings the replied author when mention_author is true.
        """
        uid = self._default_user(author_id)
        gid, cid = self._where(uid, guild_id, channel_id, dm)
        if gid is not None and uid not in self.world.guilds[gid].members:
            raise ValueError(f"user {uid} is not a member of guild {gid}")
        if reply_to is not None:
            referenced_message = self.get_message(_message_id(reply_to))
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
            attachments=attachments,
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
