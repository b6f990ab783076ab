"""Cooldown, the in-flight bound and the admin rule, without Discord."""

from __future__ import annotations

import asyncio

import pytest

from bot.guard import Busy, Cooldown, InFlight, is_admin


def test_cooldown_per_user() -> None:
    now = [100.0]
    cooldown = Cooldown(5, clock=lambda: now[0])
    assert cooldown.hit(1) is None
    assert cooldown.hit(2) is None
    now[0] += 2
    assert cooldown.hit(1) == pytest.approx(3)
    now[0] += 3
    assert cooldown.hit(1) is None


def test_cooldown_off() -> None:
    cooldown = Cooldown(0)
    assert cooldown.hit(1) is None and cooldown.hit(1) is None


async def test_in_flight_queues_then_refuses() -> None:
    bound = InFlight(1, timeout=0.05)
    release = asyncio.Event()

    async def hold() -> None:
        async with bound.slot():
            await release.wait()

    task = asyncio.create_task(hold())
    await asyncio.sleep(0)
    assert bound.active == 1
    with pytest.raises(Busy):
        async with bound.slot():
            pass
    assert bound.waiting == 0

    async def later() -> None:
        await asyncio.sleep(0.01)
        release.set()

    bound.timeout = 1.0
    asyncio.get_running_loop().create_task(later())
    async with bound.slot():  # waits in the queue, then gets the freed slot
        assert bound.active == 1
    await task
    assert bound.active == 0


async def test_in_flight_zero_timeout_refuses_at_once() -> None:
    bound = InFlight(1, timeout=0)
    async with bound.slot():
        with pytest.raises(Busy):
            async with bound.slot():
                pass


HOST, OTHER, ADMIN_USER, ADMIN_ROLE = 111, 222, 333, 444


def admin(**kw: object) -> bool:
    values: dict[str, object] = dict(
        user_id=1, guild_id=HOST, role_ids=(), manage_guild=False,
        admin_user_ids=(ADMIN_USER,), admin_role_ids=(ADMIN_ROLE,), host_guild_ids=(HOST,),
    )  # fmt: skip
    values.update(kw)
    return is_admin(**values)  # type: ignore[arg-type]


def test_manage_server_counts_only_on_host_servers() -> None:
    assert admin(manage_guild=True)
    assert not admin(manage_guild=True, guild_id=OTHER)
    assert not admin()


def test_admin_users_count_everywhere_and_roles_in_servers() -> None:
    assert admin(user_id=ADMIN_USER, guild_id=None)
    assert admin(user_id=ADMIN_USER, guild_id=OTHER)
    assert admin(role_ids=(ADMIN_ROLE,))
    assert not admin(role_ids=(ADMIN_ROLE,), guild_id=None)
    assert not admin(guild_id=None, manage_guild=True)
