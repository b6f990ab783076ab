"""FakeDiscord: the core server plus what simulated users do (commands, clicks, modals; messages in users.py).

Each action builds the payload Discord would deliver and dispatches it on the bot's
gateway session; interactions return an InteractionHandle to await the bot's answer.
"""

from __future__ import annotations

import copy
import secrets
from typing import Any

from . import messaging, payloads
from .cdn import Upload
from .handles import InteractionHandle
from .records import InteractionRecord
from .simulate import (
    OptionBuilder,
    custom_ids,
    find_component,
    interaction_channel,
    modal_submit_components,
)
from .users import UserActions, message_id
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


class FakeDiscord(UserActions):
    """The fake Discord tests use: the core server, user messages (users.py) and interactions (here)."""

    def handle(self, interaction_id: int) -> InteractionHandle:
        """A handle on an interaction dispatched earlier."""
        return InteractionHandle(self, self.interactions[interaction_id])

    # ------------------------------------------------------------ plumbing
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
        command_name: str | None = None,
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
            command_name=command_name or (command["name"] if command else None),
            command_type=int(command.get("type", 1)) if command else None,
            source_message_id=int(message["id"]) if message is not None else None,
        )
        self.interactions[interaction_id] = record
        self.interactions_by_token[token] = record
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        return InteractionHandle(self, record)

    def _command(self, name: str, guild_id: int | None, command_type: int, user_id: int) -> JSON:
        """The command a user could run here, or LookupError saying why Discord would not offer it."""
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
        required = command.get("default_member_permissions")
        if self.enforce_default_member_permissions and guild_id is not None and required is not None:
            have = self.world.permissions(guild_id, user_id)
            if int(required) & ~have:
                raise LookupError(f"command {name!r} needs permissions {required}; user {user_id} has {have}")
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
        """Run "/name [group] [subcommand]" with options {name: value}, e.g.
        slash_command("story add", {"file": Upload(b"...", "s.txt"), "title": "T"}, guild_id=...).

        Subcommands nest their options as Discord does; an attachment option takes an Upload
        (served by the fake's CDN, listed in data.resolved.attachments). guild/channel default to
        the default world (the guild's first channel when only guild_id is given)."""
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
        """A user typing into option `focused` of "/name [group] [subcommand]" (its value is the
        partial text; other options as already filled in); `await handle.choices()` reads the answer."""
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
        command = self._command(parts[0], gid, 1, uid)

        def attach(upload: Upload | JSON) -> JSON:
            return self.cdn.add(upload, channel_id=cid, ephemeral=True, max_size=payloads.ATTACHMENT_SIZE_LIMIT)

        builder = OptionBuilder(self.world, gid, attach)
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
            command_name=" ".join([command["name"], *parts[1:]]),
        )

    async def message_command(
        self, name: str, target_message: JSON | int, *, user_id: int | None = None, locale: str = "en-US"
    ) -> InteractionHandle:
        """Run a message context-menu command on a stored message (bot's or a user's)."""
        target = self.get_message(message_id(target_message))
        uid = self._default_user(user_id)
        cid = int(target["channel_id"])
        gid = messaging.guild_of(self, cid)
        command = self._command(name, gid, 3, uid)
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
        command = self._command(name, gid, 2, uid)
        builder = OptionBuilder(self.world, gid)
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
        stored = self.get_message(message_id(message))
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
