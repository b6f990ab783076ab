"""Pointing the real discord.py at a FakeDiscord.

discord.py 2.7 builds every REST URL from ``discord.http.Route.BASE``; interaction
callbacks/follow-ups go through ``discord.webhook.async_`` which imports that same ``Route``
class (so one patch covers both, but older/newer versions with their own webhook Route are
patched too). ``Client.connect`` opens ``DiscordWebSocket.DEFAULT_GATEWAY`` first and then
the ``resume_gateway_url`` from READY, which the fake points back at itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import yarl

if TYPE_CHECKING:
    from .server import FakeDiscordCore


def point_discord_py_at(fake: FakeDiscordCore) -> Callable[[], None]:
    """Patch discord.py's REST base, webhook base and default gateway; returns an undo callable."""
    import discord.gateway
    import discord.http
    import discord.webhook.async_
    import discord.webhook.sync

    base = f"{fake.base_url}/api/v10"
    saved: list[tuple[Any, str, Any]] = []

    def patch(obj: Any, name: str, value: Any) -> None:
        saved.append((obj, name, getattr(obj, name)))
        setattr(obj, name, value)

    # The webhook modules' Route is discord.http.Route in 2.7; patch theirs too in case it ever is not.
    routes = {discord.http.Route, vars(discord.webhook.async_)["Route"], vars(discord.webhook.sync)["Route"]}
    for route_cls in routes:
        patch(route_cls, "BASE", base)
    patch(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))

    def undo() -> None:
        for obj, name, value in reversed(saved):
            setattr(obj, name, value)

    return undo
