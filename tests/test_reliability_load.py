"""Load: many users asking at once through the fake Discord, by /ask, @mention and DM.

Every question gets exactly one answer, cooldown or busy message (none lost); Discord's 3 s
deadline for acknowledging an interaction is met; heartbeats keep their rhythm (each within the
interval plus one second); the per-user cooldown and the in-flight bound hold; memory comes back.

CI runs 60 questions from 10 users in 10 s; the full run (300 questions from 50 users in 10 s)
needs STORYBOT_SLOW_TESTS=1. Both print their figures (shown even without -s).
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.service import AskService
from index import Engine, EngineConfig
from tests.bot_fixtures import bot_settings, storybot_running
from tests.e2e import assert_sane
from tests.fake_discord import DefaultIds, FakeDiscord
from tests.fake_discord.payloads import MESSAGE_FLAG_LOADING
from tests.reliability_fixtures import SLOW, outcome_of, rss_bytes

QUESTIONS = [
    "Who called the statement an insult?",
    "How many people did the NYPD lock up in 2016?",
    "What did the Justice Department say about New York?",
    "Who is the police commissioner?",
    "What did de Blasio say about sanctuary cities?",
    "How many gang takedowns were there?",
    "Who won the world cup?",
    "What happened to crime in New York?",
    "Which union criticised the statement?",
    "What is the capital of France?",
]
COOLDOWN = 2.0
MAX_IN_FLIGHT = 8
RSS_BUDGET = 50 * 2**20


@dataclass
class Asked:
    """One question of the load, and what came of it."""

    n: int
    user: int
    route: str  # "slash", "mention" or "dm"
    text: str
    at: float = 0.0
    handle: Any = None
    message_id: int | None = None
    outcome: str | None = None


@dataclass
class Watch:
    """What the bot did inside: cooldown decisions and slots taken (instrumented in-process)."""

    cooldown: list[tuple[int, float, bool]] = field(default_factory=list)
    active_at_start: list[int] = field(default_factory=list)


def instrument(service: AskService) -> Watch:
    watch = Watch()
    hit = service.cooldown.hit
    ask = service._ask_engine

    def recording_hit(key: Any) -> float | None:
        wait = hit(key)
        watch.cooldown.append((int(key), time.monotonic(), wait is None))
        return wait

    async def recording_ask(*args: Any, **kwargs: Any) -> Any:
        watch.active_at_start.append(service.in_flight.active)
        return await ask(*args, **kwargs)

    service.cooldown.hit = recording_hit  # type: ignore[method-assign]
    service._ask_engine = recording_ask  # type: ignore[method-assign]
    return watch


def plan(questions: int, users: list[int], seconds: float, seed: int = 6) -> list[Asked]:
    """`questions` spread over `seconds`, users taking turns, by every route (2/3 slash)."""
    rng = random.Random(seed)
    times = sorted(rng.uniform(0, seconds) for _ in range(questions))
    order = [users[i % len(users)] for i in range(questions)]
    rng.shuffle(order)
    routes = ["slash", "slash", "slash", "slash", "mention", "dm"]
    return [
        Asked(
            n, user, routes[n % len(routes)], f"{rng.choice(QUESTIONS)} ({n})" if n % 3 else rng.choice(QUESTIONS), at
        )
        for n, (user, at) in enumerate(zip(order, times))
    ]


async def send(fake: FakeDiscord, asked: Asked, start: float) -> None:
    await asyncio.sleep(max(0.0, start + asked.at - time.monotonic()))
    asked.at = time.monotonic()
    if asked.route == "slash":
        asked.handle = await fake.slash_command("ask", {"question": asked.text}, user_id=asked.user)
    else:
        message = await fake.user_message(
            content=f"{fake.bot_mention} {asked.text}" if asked.route == "mention" else asked.text,
            author_id=asked.user,
            dm=asked.route == "dm",
        )
        asked.message_id = int(message["id"])


def settle(fake: FakeDiscord, load: list[Asked]) -> int:
    """Fill in each question's outcome from what the bot sent; returns how many are still pending."""
    replies: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for sent in fake.messages:
        if sent["kind"] == "channel" and sent["message_reference"]:
            replies[int(sent["message_reference"]["message_id"])].append(sent)
    pending = 0
    for asked in load:
        if asked.route == "slash":
            record = asked.handle.record if asked.handle is not None else None
            callbacks = record.callbacks if record is not None else []
            if len(callbacks) > 1:
                asked.outcome = "answered twice"
            elif callbacks and callbacks[0]["type"] == 4:
                asked.outcome = outcome_of(callbacks[0]["data"])
            elif callbacks and callbacks[0]["type"] == 5:
                original = fake.store.get(record.original_message_id) if record.original_message_id else None
                if original is not None and not int(original.get("flags", 0)) & MESSAGE_FLAG_LOADING:
                    asked.outcome = outcome_of(original)
        elif asked.message_id is not None:
            found = replies.get(asked.message_id, [])
            asked.outcome = None if not found else ("answered twice" if len(found) > 1 else outcome_of(found[0]))
        pending += asked.outcome is None
    return pending


async def run_load(
    fake: FakeDiscord, engine: Engine, config: EngineConfig, data: Path, *, questions: int, users: int, seconds: float
) -> dict[str, Any]:
    """Start the bot, warm it up, send the load, wait for every outcome; returns the figures."""
    user_ids = [900000000000000000 + i for i in range(users)]
    for i, uid in enumerate(user_ids):
        fake.add_member(DefaultIds.guild, uid, f"reader{i}")
    settings = bot_settings(
        fake,
        data,
        config,
        STORYBOT_COOLDOWN_SECONDS=str(COOLDOWN),
        STORYBOT_MAX_IN_FLIGHT=str(MAX_IN_FLIGHT),
        STORYBOT_QUEUE_TIMEOUT_SECONDS="10",
    )
    async with storybot_running(fake, settings, lambda: engine) as bot:
        for n, question in enumerate(QUESTIONS[:4]):  # warm-up: model, batcher, records, discord.py caches
            warm = await fake.slash_command(
                "ask", {"question": question}, user_id=DefaultIds.owner if n % 2 else DefaultIds.admin
            )
            await warm.final_message(timeout=30)
            await asyncio.sleep(COOLDOWN / 2)
        gc.collect()
        await asyncio.sleep(0.2)
        rss_before = rss_bytes()
        connections = fake.connection_count
        watch = instrument(bot.service)

        load = plan(questions, user_ids, seconds)
        start = time.monotonic()
        await asyncio.gather(*(send(fake, asked, start) for asked in load))
        sent_in = time.monotonic() - start
        deadline = time.monotonic() + 120
        while settle(fake, load) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        finished = time.monotonic()

        gc.collect()
        await asyncio.sleep(0.5)
        rss_after = rss_bytes()
        interval = fake.heartbeat_interval_ms / 1000
        beats = [(t, conn) for t, conn in fake.heartbeats if start - interval <= t <= finished + interval]
        gaps = [b[0] - a[0] for a, b in itertools.pairwise(beats) if a[1] == b[1]]
        assert_sane(fake)  # no interaction expired (deadline met), nothing beyond Discord's limits, no pings
        return {
            "load": load,
            "watch": watch,
            "questions": questions,
            "users": users,
            "sent_in": sent_in,
            "drained_in": finished - start,
            "outcomes": Counter(a.outcome or "lost" for a in load),
            "routes": Counter(a.route for a in load),
            "max_gap": max(gaps, default=0.0),
            "beats": len(beats),
            "interval": interval,
            "reconnects": fake.connection_count - connections,
            "rss_before": rss_before,
            "rss_after": rss_after,
            "max_active": max(watch.active_at_start, default=0),
        }


def check_and_report(figures: dict[str, Any], capsys: pytest.CaptureFixture[str], label: str) -> None:
    outcomes = figures["outcomes"]
    line = (
        f"\n[load {label}] {figures['questions']} questions from {figures['users']} users sent in "
        f"{figures['sent_in']:.1f} s "
        f"({dict(figures['routes'])}); all settled after {figures['drained_in']:.1f} s: "
        f"answered {outcomes['answered']}, cooldown {outcomes['cooldown']}, busy {outcomes['busy']}, "
        f"other {sum(v for k, v in outcomes.items() if k not in ('answered', 'cooldown', 'busy'))}; "
        f"heartbeats {figures['beats']}, max gap {figures['max_gap']:.2f} s (interval {figures['interval']:.1f} s), "
        f"reconnects {figures['reconnects']}; in flight at most {figures['max_active']} (bound {MAX_IN_FLIGHT}); "
        f"RSS {figures['rss_before'] / 2**20:.0f} MB -> {figures['rss_after'] / 2**20:.0f} MB "
        f"({(figures['rss_after'] - figures['rss_before']) / 2**20:+.1f} MB)"
    )
    with capsys.disabled():
        print(line)

    assert set(outcomes) <= {"answered", "cooldown", "busy"}, outcomes  # none lost, none answered twice, no apology
    assert figures["sent_in"] <= 12.0
    assert figures["reconnects"] == 0 and figures["beats"] >= 3
    assert figures["max_gap"] <= figures["interval"] + 1.0
    assert figures["rss_after"] - figures["rss_before"] <= RSS_BUDGET
    assert 1 <= figures["max_active"] <= MAX_IN_FLIGHT

    # The per-user cooldown held: allowed questions of one user are COOLDOWN apart, refusals inside it.
    by_user: dict[int, list[tuple[float, bool]]] = defaultdict(list)
    for user, at, allowed in figures["watch"].cooldown:
        by_user[user].append((at, allowed))
    for user, decisions in by_user.items():
        last_allowed: float | None = None
        for at, allowed in decisions:
            if allowed:
                assert last_allowed is None or at - last_allowed >= COOLDOWN - 1e-3, user
                last_allowed = at
            else:
                assert last_allowed is not None and at - last_allowed < COOLDOWN, user
    assert outcomes["cooldown"] == sum(not allowed for _, _, allowed in figures["watch"].cooldown)


async def test_load_short(
    fake_discord: FakeDiscord,
    engine: Engine,
    engine_config: EngineConfig,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    figures = await run_load(
        fake_discord, engine, engine_config, tmp_path / "data", questions=60, users=10, seconds=10.0
    )
    check_and_report(figures, capsys, "short")


@pytest.mark.slow
@SLOW
async def test_load_full(
    fake_discord: FakeDiscord,
    engine: Engine,
    engine_config: EngineConfig,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    figures = await run_load(
        fake_discord, engine, engine_config, tmp_path / "data", questions=300, users=50, seconds=10.0
    )
    check_and_report(figures, capsys, "full")
