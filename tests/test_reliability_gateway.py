"""Faults on the way to Discord, end to end against the fake: the gateway drops or goes silent,
REST answers 429 or 5xx. The bot comes back and answers again; no question it acknowledged is
left without an answer or an error message; nothing is retried faster than Discord asks.

(A 429 on the interaction callback and a dropped TCP connection with a close 4000 are in
test_bot_e2e_resilience.py; these extend them to every close code and REST fault.)
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot import render
from index import Engine, EngineConfig
from tests.bot_fixtures import bot_settings, storybot_running
from tests.doubles import EngineDouble
from tests.e2e import INSULT_Q, assert_sane, eventually
from tests.fake_discord import DefaultIds, FakeDiscord
from tests.reliability_fixtures import mention, outcome_of, reply_to, slow

NOT_IN_STORY_Q = "Who won the world cup?"
HEARTBEAT_TIMEOUT = 3.0  # seconds without any gateway frame before discord.py calls the connection dead (default 60)


def go_silent(fake: FakeDiscord) -> None:
    """A zombie connection: the socket stays open but nothing reaches the bot, heartbeats get no ACK."""
    conn = fake.gateway.live_connection()
    assert conn is not None
    conn.acking = False

    async def swallow(frame: dict[str, Any]) -> bool:
        return True

    conn.send = swallow  # type: ignore[method-assign]


def freeze(fake: FakeDiscord) -> None:
    """A half-open TCP connection: the peer neither reads nor writes any more (no close frame, no EOF)."""
    conn = fake.gateway.live_connection()
    assert conn is not None and conn.request.transport is not None
    go_silent(fake)
    conn.request.transport.pause_reading()


async def close_with(fake: FakeDiscord, code: int) -> None:
    await fake.close_gateway(code)


FAULTS: dict[str, Callable[[FakeDiscord], Awaitable[None] | None]] = {
    "close-1000": lambda fake: close_with(fake, 1000),
    "close-1001": lambda fake: close_with(fake, 1001),
    "close-4000": lambda fake: close_with(fake, 4000),
    "tcp-dropped": lambda fake: fake.drop_gateway(),
    "zombie-no-heartbeat-acks": go_silent,
    "frozen-tcp": freeze,
    "session-invalidated": lambda fake: fake.invalidate_session(resumable=False),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_gateway_fault_leaves_no_acknowledged_question_unanswered(
    fault: str,
    fake_discord: FakeDiscord,
    engine: Engine,
    engine_config: EngineConfig,
    tmp_path: Path,
) -> None:
    fake = fake_discord
    held = EngineDouble(engine)  # answers wait while `hold` is clear
    settings = bot_settings(fake, tmp_path / "data", engine_config)
    async with storybot_running(fake, settings, lambda: held, heartbeat_timeout=HEARTBEAT_TIMEOUT):  # type: ignore[arg-type, return-value]
        # Two questions the bot has taken (one deferred, one read from a message) are being answered...
        held.hold.clear()
        acknowledged = await fake.slash_command("ask", {"question": INSULT_Q})
        assert (await acknowledged.wait_response())["type"] == 5
        read = await mention(fake, NOT_IN_STORY_Q, author=DefaultIds.admin)
        await eventually(held.waiting.is_set, timeout=10)
        connections, identified = fake.connection_count, fake.identify_count

        # ...when the gateway fails.
        result = FAULTS[fault](fake)
        if result is not None:
            await result
        resumable = fault != "session-invalidated"
        # A question sent while the bot is away: Discord keeps it for the RESUME.
        while_away = await mention(fake, INSULT_Q, author=DefaultIds.owner) if resumable else None
        held.hold.set()

        assert outcome_of(await acknowledged.final_message(timeout=15)) == "answered"
        assert outcome_of(await reply_to(fake, int(read["id"]), timeout=15)) == "answered"

        await fake.wait_until(lambda: fake.connection_count > connections, timeout=30)
        await fake.wait_until_ready(timeout=30)
        if while_away is not None:
            assert outcome_of(await reply_to(fake, int(while_away["id"]), timeout=20)) == "answered"
        if resumable:
            assert fake.identify_count == identified and fake.resume_count >= 1  # resumed, not a fresh session
        else:
            assert fake.identify_count == identified + 1

        # And the bot answers new questions on the new connection, by both routes.
        fresh = await fake.slash_command("ask", {"question": INSULT_Q}, user_id=DefaultIds.member)
        assert outcome_of(await fresh.final_message(timeout=10)) == "answered"
        again = await mention(fake, INSULT_Q, author=DefaultIds.admin)
        assert outcome_of(await reply_to(fake, int(again["id"]), timeout=10)) == "answered"
        if fault == "zombie-no-heartbeat-acks":
            closed = fake.connections[connections - 1]
            assert closed["closed_by"] == "client" and closed["close_code"] not in (1000, 1001)  # resumable close
        assert_sane(fake)


# -- REST ----------------------------------------------------------------------------------


def statuses(fake: FakeDiscord, method: str, fragment: str) -> list[int]:
    return [r["status"] for r in fake.requests if r["method"] == method and fragment in r["path"]]


def retry_gap(fake: FakeDiscord, method: str, fragment: str) -> float:
    """Seconds between the first (faulted) request on a route and its retry."""
    times = [r["time"] for r in fake.requests if r["method"] == method and fragment in r["path"]]
    return times[1] - times[0]


@pytest.mark.parametrize(
    ("route", "retry_after", "is_global"),
    [
        ("PATCH /webhooks/", 0.6, False),  # the deferred answer edited in
        ("PATCH /webhooks/", 0.6, True),
        ("POST /channels/", 0.6, False),  # the reply to a mention
        ("POST /channels/", 0.6, True),
        ("/callback", 0.4, True),  # the interaction's first response (per-route: test_bot_e2e_resilience)
    ],
)
async def test_429_is_waited_out_then_retried(
    route: str,
    retry_after: float,
    is_global: bool,
    fake_discord: FakeDiscord,
    engine: Engine,
    engine_config: EngineConfig,
    tmp_path: Path,
) -> None:
    fake = fake_discord
    async with storybot_running(fake, bot_settings(fake, tmp_path / "data", engine_config), lambda: engine):
        fake.rate_limit(route, count=1, retry_after=retry_after, is_global=is_global)
        if route.startswith("POST /channels/"):
            asked = await mention(fake, INSULT_Q)
            assert outcome_of(await reply_to(fake, int(asked["id"]), timeout=10)) == "answered"
        else:
            handle = await fake.slash_command("ask", {"question": INSULT_Q})
            assert outcome_of(await handle.final_message(timeout=10)) == "answered"
        method, fragment = route.split(" ") if " " in route else ("POST", route)
        assert statuses(fake, method, fragment)[:2] == [429, 200]
        assert retry_gap(fake, method, fragment) >= retry_after - 0.05  # waited as told, no hammering
        assert len(fake.faults.fired) == 1
        assert_sane(fake)


@pytest.mark.parametrize(
    ("route", "status"),
    [
        ("/callback", 500),  # the defer: retried after 1 s, still inside Discord's 3 s
        ("PATCH /webhooks/", 502),
        ("POST /channels/", 500),
        ("POST /channels/", 504),
    ],
)
async def test_a_5xx_is_retried_and_the_answer_arrives(
    route: str,
    status: int,
    fake_discord: FakeDiscord,
    engine: Engine,
    engine_config: EngineConfig,
    tmp_path: Path,
) -> None:
    fake = fake_discord
    async with storybot_running(fake, bot_settings(fake, tmp_path / "data", engine_config), lambda: engine):
        fake.fail_next(route, status=status)
        if route.startswith("POST /channels/"):
            asked = await mention(fake, INSULT_Q)
            assert outcome_of(await reply_to(fake, int(asked["id"]), timeout=10)) == "answered"
        else:
            handle = await fake.slash_command("ask", {"question": INSULT_Q})
            assert outcome_of(await handle.final_message(timeout=10)) == "answered"
        method, fragment = route.split(" ") if " " in route else ("POST", route)
        assert statuses(fake, method, fragment)[:2] == [status, 200]
        assert retry_gap(fake, method, fragment) >= 0.9  # discord.py backs off (1 s, then 3 s, ...)
        assert_sane(fake)


async def test_a_5xx_discord_py_does_not_retry_still_gets_the_user_a_reply(
    fake_discord: FakeDiscord,
    engine: Engine,
    engine_config: EngineConfig,
    tmp_path: Path,
) -> None:
    """discord.py retries 500/502/504 on bot routes but raises a 503 at once: the asker then gets
    the apology (the next request goes through), never silence."""
    fake = fake_discord
    async with storybot_running(fake, bot_settings(fake, tmp_path / "data", engine_config), lambda: engine):
        fake.fail_next("POST /channels/", status=503)
        asked = await mention(fake, INSULT_Q)
        await fake.wait_until(lambda: len([m for m in fake.messages if m["kind"] == "channel"]) >= 1, timeout=10)
        replies = [m for m in fake.messages if m["kind"] == "channel"]
        assert [outcome_of(m) for m in replies] == ["apology"]
        assert int(replies[0]["message_reference"]["message_id"]) == int(asked["id"])
        assert statuses(fake, "POST", "/channels/")[0] == 503
        assert_sane(fake)


@slow
async def test_rest_down_for_every_retry_ends_in_an_apology_not_silence(
    fake_discord: FakeDiscord,
    engine: Engine,
    engine_config: EngineConfig,
    tmp_path: Path,
) -> None:
    """Five 500s in a row on the answer's edit (all of discord.py's tries, ~25 s): the asker is
    told something went wrong as soon as Discord takes requests again."""
    fake = fake_discord
    async with storybot_running(fake, bot_settings(fake, tmp_path / "data", engine_config), lambda: engine):
        fake.fail_next("PATCH /webhooks/", status=500, count=5)
        started = time.monotonic()
        handle = await fake.slash_command("ask", {"question": INSULT_Q})
        message = await handle.final_message(timeout=60)
        assert message["content"] == render.APOLOGY_TEXT, message
        assert time.monotonic() - started > 20  # backed off between tries
        assert statuses(fake, "PATCH", "/webhooks/")[:6] == [500] * 5 + [200]
        assert_sane(fake)
