"""What the fake remembers: messages, interactions, and a way to await changes.

Tests assert on these records instead of on discord.py internals, so they read the same
whatever library the bot uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .payloads import MESSAGE_FLAG_EPHEMERAL, MESSAGE_FLAG_LOADING, now_iso

JSON = dict[str, Any]
T = TypeVar("T")


class Notifier:
    """Wakes every waiter whenever something is recorded; waiters re-check their condition."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(self, check: Callable[[], T | None], timeout: float, describe: Callable[[], str]) -> T:
        """Poll check() on every notification until it returns non-None or timeout passes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = check()
            if result is not None:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(describe())
            event = self._event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)


@dataclass
class InteractionRecord:
    """One interaction the fake dispatched and everything the bot did about it."""

    id: int
    token: str
    type: int
    payload: JSON
    user_id: int
    channel_id: int
    guild_id: int | None
    command_name: str | None = None
    command_type: int | None = None
    source_message_id: int | None = None
    created: float = field(default_factory=time.monotonic)
    callbacks: list[JSON] = field(default_factory=list)
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)

    @property
    def responded(self) -> bool:
        return bool(self.callbacks)

    @property
    def callback_type(self) -> int | None:
        return self.callbacks[0]["type"] if self.callbacks else None


class MessageStore:
    """Every message object (bot- or user-authored) by id, plus the log of what the bot sent."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self.by_id: dict[int, JSON] = {}
        self.sent: list[JSON] = []
        self.deleted: list[JSON] = []

    def put(self, message: JSON) -> JSON:
        self.by_id[int(message["id"])] = message
        return message

    def get(self, message_id: int) -> JSON | None:
        return self.by_id.get(int(message_id))

    def merged(self, message_id: int, payload: JSON, *, attachments: list[JSON]) -> JSON:
        """A copy of the message with an edit payload applied as Discord merges it (not stored)."""
        message = copy.deepcopy(self.by_id[int(message_id)])
        for key in ("content", "components", "poll"):
            if key in payload:
                message[key] = payload[key] if payload[key] is not None else ("" if key == "content" else [])
        if "embeds" in payload:
            message["embeds"] = [{"type": "rich", **e} for e in payload["embeds"] or []]
        if "attachments" in payload or attachments:
            keep = {str(a.get("id")) for a in payload.get("attachments") or []}
            old = [a for a in message.get("attachments", []) if str(a["id"]) in keep]
            message["attachments"] = old + attachments
        if "flags" in payload and payload["flags"] is not None:
            keep_bits = int(message.get("flags", 0)) & (MESSAGE_FLAG_EPHEMERAL | (1 << 15))
            message["flags"] = keep_bits | (int(payload["flags"]) & ~MESSAGE_FLAG_EPHEMERAL)
        message["flags"] = int(message.get("flags", 0)) & ~MESSAGE_FLAG_LOADING
        message["edited_timestamp"] = now_iso()
        return message

    def record(
        self,
        kind: str,
        message: JSON,
        payload: JSON,
        *,
        guild_id: int | None,
        interaction_id: int | None = None,
        files: list[JSON] | None = None,
    ) -> JSON:
        """Log a message the bot created or edited; fields show the message state afterwards."""
        flags = int(message.get("flags", 0))
        entry: JSON = {
            "kind": kind,
            "id": int(message["id"]),
            "channel_id": int(message["channel_id"]),
            "guild_id": guild_id,
            "interaction_id": interaction_id,
            "content": message.get("content", ""),
            "embeds": message.get("embeds", []),
            "components": message.get("components", []),
            "flags": flags,
            "ephemeral": bool(flags & MESSAGE_FLAG_EPHEMERAL),
            "allowed_mentions": payload.get("allowed_mentions"),
            "message_reference": payload.get("message_reference"),
            "files": files or [],
            "payload": payload,
            "message": copy.deepcopy(message),
            "time": time.monotonic(),
        }
        self.sent.append(entry)
        self.notifier.notify()
        return entry
