"""Test-side handle on one dispatched interaction: await its answer, click what it shows."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .payloads import MESSAGE_FLAG_LOADING
from .records import InteractionRecord
from .simulate import find_component

if TYPE_CHECKING:
    from .fake import FakeDiscord

JSON = dict[str, Any]


class InteractionHandle:
    """Everything the bot did in answer to one interaction, plus helpers to continue the flow."""

    def __init__(self, fake: FakeDiscord, record: InteractionRecord) -> None:
        self.fake = fake
        self.record = record

    def __repr__(self) -> str:
        return f"<InteractionHandle id={self.id} type={self.record.type} command={self.record.command_name!r}>"

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def token(self) -> str:
        return self.record.token

    @property
    def payload(self) -> JSON:
        """The INTERACTION_CREATE body that was dispatched."""
        return self.record.payload

    @property
    def messages(self) -> list[JSON]:
        """Sent-message records (response, follow-ups, edits) for this interaction, in order."""
        return [m for m in self.fake.messages if m["interaction_id"] == self.id]

    @property
    def callback(self) -> JSON | None:
        return self.record.callbacks[0] if self.record.callbacks else None

    @property
    def errors(self) -> list[JSON]:
        """Error responses (validation, 40060, ...) the fake gave to requests about this interaction."""
        return [e for e in self.fake.error_responses if e.get("interaction_id") == self.id]

    def original(self) -> JSON | None:
        """Current state of the original response message, if any."""
        mid = self.record.original_message_id
        return self.fake.store.get(mid) if mid is not None else None

    def describe(self) -> str:
        return (
            f"{self!r}: callbacks={[c['type'] for c in self.record.callbacks]} "
            f"messages={[(m['kind'], m['content'][:80]) for m in self.messages]} errors={self.errors} "
            f"expired={self.id in self.fake.expired_interactions}"
        )

    async def wait_response(self, timeout: float = 5.0) -> JSON:
        """The interaction callback (type 4/5/6/7/9...) once the bot sent it."""
        return await self.fake.notifier.wait_for(
            lambda: self.callback, timeout, lambda: "no callback: " + self.describe()
        )

    async def choices(self, timeout: float = 5.0) -> list[JSON]:
        """The choices of the bot's autocomplete answer (callback type 8).

        LookupError if the fake refused the answer (see errors) or the bot answered otherwise."""

        def check() -> JSON | None:
            return self.callback or (self.errors[0] if self.errors else None)

        outcome = await self.fake.notifier.wait_for(
            check, timeout, lambda: "no autocomplete choices: " + self.describe()
        )
        if self.callback is None:
            raise LookupError(f"the fake refused the autocomplete answer: {outcome}")
        if self.callback["type"] != 8:
            raise LookupError(f"{self!r} was answered with callback type {self.callback['type']}, not 8")
        return list(self.callback["data"].get("choices") or [])

    async def wait_error(self, timeout: float = 5.0) -> JSON:
        """The first error response the fake gave about this interaction (e.g. a refused payload)."""
        return await self.fake.notifier.wait_for(
            lambda: self.errors[0] if self.errors else None, timeout, lambda: "no error: " + self.describe()
        )

    async def wait_message(self, predicate: Callable[[JSON], bool] | None = None, timeout: float = 5.0) -> JSON:
        """First sent-message record of this interaction matching predicate."""

        def check() -> JSON | None:
            return next((m for m in self.messages if predicate is None or predicate(m)), None)

        return await self.fake.notifier.wait_for(check, timeout, lambda: "no matching message: " + self.describe())

    async def wait_followup(self, predicate: Callable[[JSON], bool] | None = None, timeout: float = 5.0) -> JSON:
        """First follow-up record matching predicate."""
        return await self.wait_message(
            lambda m: m["kind"] == "followup" and (predicate is None or predicate(m)), timeout
        )

    async def final_message(self, timeout: float = 5.0, settle: float = 0.15) -> JSON:
        """The answer a user ends up seeing: the most recently sent/edited message once it is
        no longer "thinking" and nothing changed for `settle` seconds. Returns the message object."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout

        def visible() -> JSON | None:
            done = [m for m in self.messages if not m["flags"] & MESSAGE_FLAG_LOADING]
            return done[-1] if done else None

        await self.fake.notifier.wait_for(visible, timeout, lambda: "no visible answer: " + self.describe())
        count = len(self.messages)

        def changed() -> bool | None:
            return True if len(self.messages) > count else None

        while (remaining := deadline - loop.time()) > 0:
            try:
                await self.fake.notifier.wait_for(changed, min(settle, remaining), lambda: "")
            except TimeoutError:
                break
            count = len(self.messages)
        last = self.messages[-1]
        return self.fake.store.get(last["id"]) or last["message"]

    def _message_with(self, custom_id: str) -> JSON:
        for entry in reversed(self.messages):
            message = self.fake.store.get(entry["id"])
            if message is not None and find_component(message.get("components") or [], custom_id):
                return message
        raise LookupError(f"no message of {self!r} has a component {custom_id!r}")

    async def click(self, custom_id: str, *, user_id: int | None = None) -> InteractionHandle:
        """Click a button on the newest message of this interaction that has it."""
        return await self.fake.click_button(
            self._message_with(custom_id), custom_id, user_id=user_id or self.record.user_id
        )

    async def select(self, custom_id: str, values: list[str], *, user_id: int | None = None) -> InteractionHandle:
        """Pick values in a select menu on this interaction's messages."""
        return await self.fake.select_menu(
            self._message_with(custom_id), custom_id, values, user_id=user_id or self.record.user_id
        )

    async def submit_modal(self, values: dict[str, Any], *, timeout: float = 5.0) -> InteractionHandle:
        """Fill in and submit the modal the bot answered this interaction with."""
        callback = await self.wait_response(timeout)
        if callback["type"] != 9:
            raise LookupError(f"{self!r} was answered with callback type {callback['type']}, not a modal")
        return await self.fake.submit_modal(self, callback["data"], values)
