"""What the end-to-end tests against the fake Discord share: waiting, reading buttons, sanity checks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from bot import limits
from tests.fake_discord import FakeDiscord

JSON = dict[str, Any]
INSULT_Q = "Who called the statement an insult?"
STORY_FILE = "000_4b5094cc93f72285.txt"


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Until condition() holds (for state the fake is not notified about, like the records)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.05)


def buttons(message: JSON) -> list[JSON]:
    return [c for row in message.get("components") or [] for c in row["components"]]


def show_ids(message: JSON) -> list[str]:
    return [b["custom_id"] for b in buttons(message) if b["custom_id"].startswith("sb:p:")]


def assert_sane(fake: FakeDiscord) -> None:
    """Nothing the bot sent broke Discord's limits or pinged anyone; no interaction expired."""
    assert not fake.validation_errors, fake.validation_errors
    assert not fake.expired_interactions
    for sent in fake.messages:
        assert not limits.message_violations(sent["payload"]), sent["payload"]
        assert sent["allowed_mentions"] is not None, sent
        assert sent["allowed_mentions"].get("parse") == [] and not sent["allowed_mentions"].get("replied_user"), sent
        assert not sent["allowed_mentions"].get("users") and not sent["allowed_mentions"].get("roles"), sent
