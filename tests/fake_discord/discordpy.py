"""Pointing the real discord.py at a FakeDiscord.

discord.py 2.7 builds every REST URL from ``discord.http.Route.BASE``; interaction
callbacks/follow-ups go through ``discord.webhook.async_`` which imports that same ``Route``
class. ``Client.connect`` opens ``DiscordWebSocket.DEFAULT_GATEWAY`` first and then the
``resume_gateway_url`` from READY, which the fake points back at itself. The patching itself is
the bot's own ``bot.client.point_discord_at`` (what ``STORYBOT_DISCORD_API_URL`` and
``STORYBOT_DISCORD_GATEWAY_URL`` use), so the tests exercise the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.client import point_discord_at

if TYPE_CHECKING:
    from .server import FakeDiscordCore


def point_discord_py_at(fake: FakeDiscordCore) -> Callable[[], None]:
    """Patch discord.py's REST base, webhook base and default gateway; returns an undo callable."""
    return point_discord_at(f"{fake.base_url}/api/v10", fake.gateway_url)
