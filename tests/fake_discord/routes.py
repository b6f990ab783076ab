"""Core REST routes: identity, gateway discovery, application commands, channels, guilds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import messaging, payloads
from .command_rules import check_command, check_commands
from .rest import (
    API_PREFIX,
    BODY,
    FILES,
    ApiError,
    empty_message,
    invalid_form,
    json_response,
    no_content,
    not_found,
)
from .validation import Errors, check_message, is_empty_message
from .world import SEND_MESSAGES, VIEW_CHANNEL

if TYPE_CHECKING:
    from .server import FakeDiscordCore

JSON = dict[str, Any]


def _int(request: web.Request, name: str) -> int:
    try:
        return int(request.match_info[name])
    except ValueError as exc:
        raise ApiError(
            400,
            50035,
            "Invalid Form Body",
            {name: {"_errors": [{"code": "NUMBER_TYPE_COERCE", "message": "Value is not snowflake."}]}},
        ) from exc


class CoreRoutes:
    """Handlers bound to one FakeDiscord."""

    def __init__(self, fake: FakeDiscordCore) -> None:
        self.fake = fake

    def register(self, app: web.Application) -> None:
        p = API_PREFIX
        cmds = p + "/applications/{app_id}/commands"
        gcmds = p + "/applications/{app_id}/guilds/{guild_id}/commands"
        msgs = p + "/channels/{channel_id}/messages"
        app.router.add_routes(
            [
                web.get(p + "/users/@me", self.get_me),
                web.get(p + "/users/{user_id}", self.get_user),
                web.post(p + "/users/@me/channels", self.create_dm),
                web.get(p + "/oauth2/applications/@me", self.get_application),
                web.get(p + "/applications/@me", self.get_application),
                web.get(p + "/gateway", self.get_gateway),
                web.get(p + "/gateway/bot", self.get_gateway_bot),
                web.get(cmds, self.list_commands),
                web.put(cmds, self.overwrite_commands),
                web.post(cmds, self.upsert_command),
                web.get(cmds + "/{command_id}", self.get_command),
                web.patch(cmds + "/{command_id}", self.edit_command),
                web.delete(cmds + "/{command_id}", self.delete_command),
                web.get(gcmds, self.list_commands),
                web.put(gcmds, self.overwrite_commands),
                web.post(gcmds, self.upsert_command),
                web.get(gcmds + "/{command_id}", self.get_command),
                web.patch(gcmds + "/{command_id}", self.edit_command),
                web.delete(gcmds + "/{command_id}", self.delete_command),
                web.get(p + "/channels/{channel_id}", self.get_channel),
                web.post(msgs, self.create_message),
                web.get(msgs, self.list_messages),
                web.get(msgs + "/{message_id}", self.get_message),
                web.patch(msgs + "/{message_id}", self.edit_message),
                web.delete(msgs + "/{message_id}", self.delete_message),
                web.put(msgs + "/{message_id}/reactions/{emoji}/@me", self.add_reaction),
                web.delete(msgs + "/{message_id}/reactions/{emoji}/@me", self.remove_reaction),
                web.post(p + "/channels/{channel_id}/typing", self.typing),
                web.get(p + "/guilds/{guild_id}", self.get_guild),
                web.get(p + "/guilds/{guild_id}/channels", self.get_guild_channels),
                web.get(p + "/guilds/{guild_id}/roles", self.get_guild_roles),
                web.get(p + "/guilds/{guild_id}/members/{user_id}", self.get_member),
            ]
        )

    # ------------------------------------------------------------------ identity
    async def get_me(self, request: web.Request) -> web.Response:
        data = payloads.user_payload(self.fake.bot_user)
        data.update({"verified": True, "mfa_enabled": False, "email": None, "locale": "en-US"})
        return json_response(data)

    async def get_user(self, request: web.Request) -> web.Response:
        uid = _int(request, "user_id")
        if uid not in self.fake.world.users:
            raise not_found(10013, "User")
        return json_response(payloads.user_payload(self.fake.world.users[uid]))

    async def create_dm(self, request: web.Request) -> web.Response:
        recipient = request[BODY].get("recipient_id")
        if recipient is None:
            raise invalid_form(
                {"recipient_id": {"_errors": [{"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}]}}
            )
        channel = self.fake.world.dm_channel(int(recipient))
        return json_response(payloads.channel_payload(channel, self.fake.world))

    async def get_application(self, request: web.Request) -> web.Response:
        fake = self.fake
        return json_response(
            payloads.application_payload(
                application_id=fake.application_id,
                name=fake.bot_user.username,
                owner=fake.world.user(fake.app_owner_id),
                bot=fake.bot_user,
                flags=fake.application_flags,
            )
        )

    async def get_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.fake.gateway_url})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        limit = {
            "total": 1000,
            "remaining": 1000 - self.fake.gateway.identify_count,
            "reset_after": 86_400_000,
            "max_concurrency": 1,
        }
        return json_response({"url": self.fake.gateway_url, "shards": 1, "session_start_limit": limit})

    # ------------------------------------------------------------------ commands
    def _scope(self, request: web.Request) -> int | None:
        if _int(request, "app_id") != self.fake.application_id:
            raise ApiError(403, 50001, "Missing Access")
        if "guild_id" not in request.match_info:
            return None
        guild_id = _int(request, "guild_id")
        if guild_id not in self.fake.world.guilds:
            raise ApiError(403, 50001, "Missing Access")
        return guild_id

    async def list_commands(self, request: web.Request) -> web.Response:
        return json_response(self.fake.commands.scope(self._scope(request)))

    async def overwrite_commands(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        body = request[BODY]
        if not isinstance(body, list):
            raise invalid_form(
                {"_errors": [{"code": "LIST_TYPE_CONVERT", "message": "Only iterables may be used in a ListType"}]}
            )
        errors = check_commands(body)
        if errors:
            raise invalid_form(errors)
        return json_response(self.fake.commands.overwrite(scope, body))

    async def upsert_command(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        errs = Errors()
        check_command(request[BODY], errs, [])
        if errs.result():
            raise invalid_form(errs.tree)
        cmd, created = self.fake.commands.upsert(scope, request[BODY])
        return json_response(cmd, 201 if created else 200)

    async def get_command(self, request: web.Request) -> web.Response:
        cmd = self.fake.commands.get(self._scope(request), _int(request, "command_id"))
        if cmd is None:
            raise not_found(10063, "application command")
        return json_response(cmd)

    async def edit_command(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        current = self.fake.commands.get(scope, _int(request, "command_id"))
        if current is None:
            raise not_found(10063, "application command")
        errs = Errors()
        check_command({**current, **request[BODY]}, errs, [])
        if errs.result():
            raise invalid_form(errs.tree)
        return json_response(self.fake.commands.edit(scope, int(current["id"]), request[BODY]))

    async def delete_command(self, request: web.Request) -> web.Response:
        if not self.fake.commands.delete(self._scope(request), _int(request, "command_id")):
            raise not_found(10063, "application command")
        return no_content()

    # ------------------------------------------------------------------ channels
    def _channel(self, request: web.Request) -> int:
        channel_id = _int(request, "channel_id")
        if self.fake.world.channel(channel_id) is None:
            raise not_found(10003, "Channel")
        return channel_id

    def _message(self, request: web.Request) -> JSON:
        channel_id = self._channel(request)
        message = self.fake.store.get(_int(request, "message_id"))
        if message is None or int(message["channel_id"]) != channel_id:
            raise not_found(10008, "Message")
        return message

    def _require_send(self, channel_id: int) -> None:
        guild_id = messaging.guild_of(self.fake, channel_id)
        if guild_id is None:
            return
        perms = self.fake.world.permissions(guild_id, self.fake.bot_user_id)
        if not perms & VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
        if not perms & SEND_MESSAGES:
            raise ApiError(403, 50013, "Missing Permissions")

    async def get_channel(self, request: web.Request) -> web.Response:
        channel = self.fake.world.channel(self._channel(request))
        assert channel is not None
        return json_response(payloads.channel_payload(channel, self.fake.world))

    async def create_message(self, request: web.Request) -> web.Response:
        fake = self.fake
        channel_id = self._channel(request)
        self._require_send(channel_id)
        body, files = request[BODY], request[FILES]
        errors = check_message(body)
        if errors:
            raise invalid_form(errors)
        if is_empty_message(body, has_files=bool(files)):
            raise empty_message()
        referenced = None
        ref = body.get("message_reference")
        if ref and ref.get("message_id"):
            referenced = fake.store.get(int(ref["message_id"]))
            if referenced is None and ref.get("fail_if_not_exists", True):
                raise invalid_form(
                    {
                        "message_reference": {
                            "_errors": [{"code": "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "message": "Unknown message"}]
                        }
                    }
                )
        message = messaging.create_bot_message(
            fake,
            channel_id=channel_id,
            payload=body,
            files=files,
            message_type=messaging.TYPE_REPLY if referenced is not None else messaging.TYPE_DEFAULT,
            flags=int(body.get("flags") or 0),
            referenced=referenced,
        )
        fake.store.record(
            "channel", message, body, guild_id=messaging.guild_of(fake, channel_id), files=_file_meta(files)
        )
        await messaging.echo(fake, "MESSAGE_CREATE", message)
        return json_response(message)

    async def list_messages(self, request: web.Request) -> web.Response:
        channel_id = self._channel(request)
        limit = int(request.query.get("limit", 50))
        found = [m for m in self.fake.store.by_id.values() if int(m["channel_id"]) == channel_id]
        found.sort(key=lambda m: int(m["id"]), reverse=True)
        return json_response(found[:limit])

    async def get_message(self, request: web.Request) -> web.Response:
        return json_response(self._message(request))

    async def edit_message(self, request: web.Request) -> web.Response:
        fake = self.fake
        message = self._message(request)
        if int(message["author"]["id"]) != fake.bot_user_id:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        body, files = request[BODY], request[FILES]
        errors = check_message(body)
        if errors:
            raise invalid_form(errors)
        attachments = messaging.build_attachments(fake, body, files, channel_id=int(message["channel_id"]))
        merged = fake.store.merged(int(message["id"]), body, attachments=attachments)
        if is_empty_message(merged, has_files=False):
            raise empty_message()
        fake.store.put(merged)
        fake.store.record(
            "edit", merged, body, guild_id=messaging.guild_of(fake, int(merged["channel_id"])), files=_file_meta(files)
        )
        await messaging.echo(fake, "MESSAGE_UPDATE", merged)
        return json_response(merged)

    async def delete_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        self.fake.store.by_id.pop(int(message["id"]), None)
        self.fake.store.deleted.append(message)
        self.fake.notifier.notify()
        await messaging.echo_delete(self.fake, message)
        return no_content()

    async def add_reaction(self, request: web.Request) -> web.Response:
        message = self._message(request)
        self.fake.reactions.append(
            {"message_id": int(message["id"]), "emoji": request.match_info["emoji"], "added": True}
        )
        return no_content()

    async def remove_reaction(self, request: web.Request) -> web.Response:
        message = self._message(request)
        self.fake.reactions.append(
            {"message_id": int(message["id"]), "emoji": request.match_info["emoji"], "added": False}
        )
        return no_content()

    async def typing(self, request: web.Request) -> web.Response:
        self._channel(request)
        return no_content()

    # -------------------------------------------------------------------- guilds
    def _guild(self, request: web.Request) -> Any:
        guild = self.fake.world.guilds.get(_int(request, "guild_id"))
        if guild is None:
            raise not_found(10004, "Guild")
        return guild

    async def get_guild(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        data = payloads.guild_create_payload(guild, self.fake.world, member_ids=[])
        for key in (
            "members",
            "channels",
            "threads",
            "presences",
            "voice_states",
            "joined_at",
            "large",
            "member_count",
        ):
            data.pop(key, None)
        return json_response(data)

    async def get_guild_channels(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        return json_response([payloads.channel_payload(c, self.fake.world) for c in guild.channels.values()])

    async def get_guild_roles(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        return json_response([payloads.role_payload(r) for r in guild.roles.values()])

    async def get_member(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        uid = _int(request, "user_id")
        if uid not in guild.members:
            raise not_found(10007, "Member")
        return json_response(payloads.member_payload(guild.members[uid], self.fake.world.user(uid)))


def _file_meta(files: list[JSON]) -> list[JSON]:
    return [{k: v for k, v in f.items() if k != "data"} for f in files]
