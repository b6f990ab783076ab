"""Keeping the bot responsive: a per-user cooldown, a bound on questions in flight, admin checks.

Pure module (no discord import): the cogs call these with plain ids.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Hashable, Iterable
from contextlib import asynccontextmanager


class Cooldown:
    """One question per `seconds` per user; `hit` says how long to wait when it is too soon."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._last: dict[Hashable, float] = {}

    def hit(self, key: Hashable) -> float | None:
        """Record a question from `key`; None if allowed, else the seconds left to wait."""
        if self.seconds <= 0:
            return None
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self.seconds:
            return self.seconds - (now - last)
        self._last[key] = now
        if len(self._last) > 10_000:  # forget users whose cooldown is over, so memory stays bounded
            self._last = {k: t for k, t in self._last.items() if now - t < self.seconds}
        return None


class Busy(Exception):
    """No slot freed up within the queue timeout."""


class InFlight:
    """At most `limit` questions answered at once; others wait up to `timeout` seconds, then `Busy`."""

    def __init__(self, limit: int, timeout: float) -> None:
        self.timeout = timeout
        self._semaphore = asyncio.Semaphore(limit)
        self.active = 0  # questions holding a slot
        self.waiting = 0  # questions waiting for one

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if not self._semaphore.locked():
            await self._semaphore.acquire()  # a free slot: taken at once, without yielding
        elif self.timeout <= 0:
            raise Busy
        else:
            self.waiting += 1
            try:
                await asyncio.wait_for(self._semaphore.acquire(), self.timeout)
            except TimeoutError:
                raise Busy from None
            finally:
                self.waiting -= 1
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1
            self._semaphore.release()


def is_admin(
    *,
    user_id: int,
    guild_id: int | None,
    role_ids: Iterable[int],
    manage_guild: bool,
    admin_user_ids: Iterable[int],
    admin_role_ids: Iterable[int],
    host_guild_ids: Iterable[int],
) -> bool:
    """Whether a user may run admin commands here.

    One corpus serves every server the bot is in, so Manage Server counts only in the host's
    own servers (`STORYBOT_GUILD_IDS`); listed admin users count everywhere, DMs included, and
    listed admin roles wherever the user holds them (role ids are unique across Discord).
    """
    if user_id in set(admin_user_ids):
        return True
    if guild_id is None:
        return False
    if set(role_ids) & set(admin_role_ids):
        return True
    return manage_guild and guild_id in set(host_guild_ids)


def may_change_stories(
    *,
    scope: int | None,
    user_id: int,
    guild_id: int | None,
    role_ids: Iterable[int],
    manage_guild: bool,
    admin_user_ids: Iterable[int],
    admin_role_ids: Iterable[int],
) -> bool:
    """Whether a user may add, update or remove the stories of `scope` (a server id, None for the shared ones).

    A server's stories serve that server alone, so its own admins decide them: Manage Server there,
    or a listed admin role held there. The shared stories serve every server and DM, so only the
    listed admin users change them. Listed admin users may change any server's stories too.
    """
    if user_id in set(admin_user_ids):
        return True
    if scope is None or guild_id != scope:
        return False
    return manage_guild or bool(set(role_ids) & set(admin_role_ids))
