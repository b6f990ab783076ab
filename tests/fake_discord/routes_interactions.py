"""Interaction callback and interaction-webhook routes (responses, follow-ups, edits).

Mirrors Discord's rules that bots most often get wrong: one callback per interaction
(40060), a 3-second deadline for it (10062), follow-ups only after acknowledging, and the
first follow-up after a "thinking" deferral replacing the loading message.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import messaging, payloads
from .command_rules import check_autocomplete, focused_option
from .payloads import MESSAGE_FLAG_EPHEMERAL, MESSAGE_FLAG_LOADING
from .records import InteractionRecord
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
from .routes import _file_meta
from .validation import check_message, check_modal, is_empty_message

if TYPE_CHECKING:
    from .server import FakeDiscordCore

JSON = dict[str, Any]

PONG, MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE, AUTOCOMPLETE, MODAL = 1, 4, 5, 6, 7, 8, 9
ALLOWED_CALLBACKS = {
    2: {MESSAGE, DEFERRED_MESSAGE, MODAL, 10, 12},
    3: {MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE, MODAL, 10, 12},
    4: {AUTOCOMPLETE},
    5: {MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE},
}


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true")


class InteractionRoutes:
    """Handlers bound to one FakeDiscord."""

    def __init__(self, fake: FakeDiscordCore) -> None:
        self.fake = fake

    def register(self, app: web.Application) -> None:
        hook = API_PREFIX + "/webhooks/{app_id}/{token}"
        app.router.add_routes(
            [
                web.post(API_PREFIX + "/interactions/{interaction_id}/{token}/callback", self.callback),
                web.post(hook, self.followup),
                web.get(hook + "/messages/{message_id}", self.get_message),
                web.patch(hook + "/messages/{message_id}", self.edit_message),
                web.delete(hook + "/messages/{message_id}", self.delete_message),
            ]
        )

    # ------------------------------------------------------------------ helpers
    def _message_extra(self, rec: InteractionRecord) -> JSON:
        user = self.fake.world.user(rec.user_id)
        owners = rec.payload.get("authorizing_integration_owners", {})
        meta = payloads.interaction_metadata(
            interaction_id=rec.id,
            interaction_type=rec.type,
            user=user,
            owners=owners,
            name=rec.command_name,
            command_type=rec.command_type,
        )
        if rec.source_message_id is not None:
            meta["interacted_message_id"] = str(rec.source_message_id)
        extra: JSON = {"interaction_metadata": meta}
        if rec.command_name is not None:
            extra["interaction"] = {
                "id": str(rec.id),
                "type": rec.type,
                "name": rec.command_name,
                "user": payloads.user_payload(user),
            }
        return extra

    def _message_type(self, rec: InteractionRecord) -> int:
        if rec.type == 2:
            return messaging.TYPE_CHAT_INPUT if rec.command_type == 1 else messaging.TYPE_CONTEXT_MENU
        return messaging.TYPE_DEFAULT

    def _new_message(self, rec: InteractionRecord, payload: JSON, files: list[JSON], flags: int) -> JSON:
        return messaging.create_bot_message(
            self.fake,
            channel_id=rec.channel_id,
            payload=payload,
            files=files,
            message_type=self._message_type(rec),
            flags=flags,
            extra=self._message_extra(rec),
            webhook=True,
        )

    def _by_token(self, request: web.Request) -> InteractionRecord:
        rec = self.fake.interactions_by_token.get(request.match_info["token"])
        if rec is None or request.match_info["app_id"] != str(self.fake.application_id):
            raise not_found(10015, "Webhook")
        return rec

    def _owned_message(self, request: web.Request, rec: InteractionRecord) -> JSON:
        raw = request.match_info["message_id"]
        message_id = rec.original_message_id if raw == "@original" else int(raw) if raw.isdigit() else None
        owned = message_id is not None and (message_id == rec.original_message_id or message_id in rec.followup_ids)
        message = self.fake.store.get(message_id) if owned and message_id is not None else None
        if message is None:
            raise not_found(10008, "Message")
        return message

    def _validate(self, payload: JSON, rec: InteractionRecord, *, prefix: list[str | int] | None = None) -> None:
        errors = check_message(payload, prefix=prefix)
        if errors:
            raise invalid_form(errors, interaction_id=rec.id)

    # ----------------------------------------------------------------- callback
    async def callback(self, request: web.Request) -> web.Response:
        fake = self.fake
        rec = fake.interactions.get(int(request.match_info["interaction_id"]))
        if rec is None or rec.token != request.match_info["token"]:
            raise not_found(10062, "interaction")
        deadline = fake.interaction_deadline
        if not rec.responded and deadline is not None and time.monotonic() - rec.created > deadline:
            fake.expired_interactions.append(rec.id)
            raise not_found(10062, "interaction")
        if rec.responded:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.", interaction_id=rec.id)
        body, files = request[BODY], request[FILES]
        ctype = body.get("type")
        data = body.get("data") or {}
        if ctype not in ALLOWED_CALLBACKS.get(rec.type, set()):
            raise invalid_form(
                {
                    "type": {
                        "_errors": [
                            {
                                "code": "INTERACTION_CALLBACK_TYPE_INVALID",
                                "message": "Invalid interaction callback type",
                            }
                        ]
                    }
                },
                interaction_id=rec.id,
            )
        if ctype in (MESSAGE, UPDATE):
            self._validate(data, rec, prefix=["data"])
        if ctype == MESSAGE and is_empty_message(data, has_files=bool(files)):
            raise empty_message(interaction_id=rec.id)
        if ctype == AUTOCOMPLETE:
            focused = focused_option((rec.payload.get("data") or {}).get("options") or [])
            errors = check_autocomplete(data, focused.get("type") if focused else None)
            if errors:
                raise invalid_form(errors, interaction_id=rec.id)
        if ctype == MODAL:
            errors = check_modal(data)
            if errors:
                raise invalid_form(errors, interaction_id=rec.id)
        # Claim the interaction before any await so a concurrent second callback gets 40060.
        entry = {"type": ctype, "data": data, "payload": body, "files": _file_meta(files), "time": time.monotonic()}
        rec.callbacks.append(entry)
        try:
            message = await self._apply_callback(rec, ctype, data, files)
        except ApiError:
            rec.callbacks.remove(entry)
            raise
        fake.notifier.notify()
        if not _truthy(request.query.get("with_response")):
            return no_content()
        return json_response(
            payloads.callback_response_payload(
                interaction_id=rec.id, interaction_type=rec.type, callback_type=ctype, message=message
            )
        )

    async def _apply_callback(self, rec: InteractionRecord, ctype: int, data: JSON, files: list[JSON]) -> JSON | None:
        fake = self.fake
        ephemeral = int(data.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL
        if ctype == MESSAGE:
            message = self._new_message(rec, data, files, int(data.get("flags") or 0))
            rec.original_message_id = int(message["id"])
            fake.store.record(
                "interaction_response",
                message,
                data,
                guild_id=rec.guild_id,
                interaction_id=rec.id,
                files=_file_meta(files),
            )
            await messaging.echo(fake, "MESSAGE_CREATE", message)
            return message
        if ctype == DEFERRED_MESSAGE:
            message = self._new_message(rec, {"content": ""}, [], ephemeral | MESSAGE_FLAG_LOADING)
            rec.original_message_id = int(message["id"])
            await messaging.echo(fake, "MESSAGE_CREATE", message)
            return message
        if ctype in (UPDATE, DEFERRED_UPDATE) and rec.source_message_id is not None:
            rec.original_message_id = rec.source_message_id
            source = fake.store.get(rec.source_message_id)
            if ctype == UPDATE and source is not None:
                merged = fake.store.merged(
                    rec.source_message_id,
                    data,
                    attachments=messaging.build_attachments(fake, data, files, channel_id=rec.channel_id),
                )
                if is_empty_message(merged, has_files=False):
                    raise empty_message(interaction_id=rec.id)
                fake.store.put(merged)
                fake.store.record(
                    "interaction_response",
                    merged,
                    data,
                    guild_id=rec.guild_id,
                    interaction_id=rec.id,
                    files=_file_meta(files),
                )
                await messaging.echo(fake, "MESSAGE_UPDATE", merged)
                return merged
            return source
        return None

    # ------------------------------------------------------------------ webhooks
    async def followup(self, request: web.Request) -> web.Response:
        fake = self.fake
        rec = self._by_token(request)
        if not rec.responded:
            raise not_found(10015, "Webhook")
        body, files = request[BODY], request[FILES]
        self._validate(body, rec)
        if is_empty_message(body, has_files=bool(files)):
            raise empty_message(interaction_id=rec.id)
        original = fake.store.get(rec.original_message_id) if rec.original_message_id else None
        if original is not None and int(original.get("flags", 0)) & MESSAGE_FLAG_LOADING and not rec.followup_ids:
            # Discord turns the first follow-up after a thinking deferral into the original response.
            message = fake.store.merged(
                int(original["id"]),
                {k: v for k, v in body.items() if k != "flags"},
                attachments=messaging.build_attachments(fake, body, files, channel_id=rec.channel_id),
            )
            message["edited_timestamp"] = None
            fake.store.put(message)
            rec.followup_ids.append(int(message["id"]))
            event = "MESSAGE_UPDATE"
        else:
            message = self._new_message(rec, body, files, int(body.get("flags") or 0))
            rec.followup_ids.append(int(message["id"]))
            event = "MESSAGE_CREATE"
        fake.store.record(
            "followup", message, body, guild_id=rec.guild_id, interaction_id=rec.id, files=_file_meta(files)
        )
        await messaging.echo(fake, event, message)
        return json_response(message) if _truthy(request.query.get("wait")) else no_content()

    async def get_message(self, request: web.Request) -> web.Response:
        rec = self._by_token(request)
        return json_response(self._owned_message(request, rec))

    async def edit_message(self, request: web.Request) -> web.Response:
        fake = self.fake
        rec = self._by_token(request)
        message = self._owned_message(request, rec)
        body, files = request[BODY], request[FILES]
        self._validate(body, rec)
        merged = fake.store.merged(
            int(message["id"]),
            body,
            attachments=messaging.build_attachments(fake, body, files, channel_id=rec.channel_id),
        )
        if is_empty_message(merged, has_files=False):
            raise empty_message(interaction_id=rec.id)
        fake.store.put(merged)
        fake.store.record("edit", merged, body, guild_id=rec.guild_id, interaction_id=rec.id, files=_file_meta(files))
        await messaging.echo(fake, "MESSAGE_UPDATE", merged)
        return json_response(merged)

    async def delete_message(self, request: web.Request) -> web.Response:
        rec = self._by_token(request)
        message = self._owned_message(request, rec)
        self.fake.store.by_id.pop(int(message["id"]), None)
        self.fake.store.deleted.append(message)
        self.fake.notifier.notify()
        await messaging.echo_delete(self.fake, message)
        return no_content()
