"""FakeDiscordCore: state, lifecycle, switches and records of the fake (user actions live in fake.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from . import payloads
from .cdn import Cdn
from .commands import CommandRegistry
from .gateway import (
    INTENT_GUILD_PRESENCES,
    OP_HEARTBEAT,
    OP_INVALID_SESSION,
    OP_RECONNECT,
    PRIVILEGED_INTENTS,
    GatewayServer,
)
from .heartbeats import late_heartbeats
from .records import InteractionRecord, MessageStore, Notifier
from .rest import Fault, Faults, make_middleware
from .routes import CoreRoutes
from .routes_interactions import InteractionRoutes
from .world import DefaultIds, Role, SnowflakeGenerator, World, fresh_ids, populate_default_world

JSON = dict[str, Any]


class FakeDiscordCore:
    """A loopback Discord (REST v10 + gateway v10) for the real discord.py client to talk to."""

    def __init__(
        self,
        token: str = "fake-bot-token",
        application_id: int = 855555555555555555,
        bot_user_id: int | None = None,
        *,
        bot_name: str = "StoryBot",
        app_owner_id: int = 866666666666666666,
    ) -> None:
        self.token = token
        self.application_id = application_id
        self.bot_user_id = bot_user_id if bot_user_id is not None else application_id
        self.app_owner_id = app_owner_id
        self.application_flags = 0
        self.snowflakes = SnowflakeGenerator()
        self.world = World(self.snowflakes)
        self.bot_user = self.world.add_user(self.bot_user_id, bot_name, bot=True)
        self.world.add_user(app_owner_id, "app-owner")
        self.ids: DefaultIds | None = None
        self.notifier = Notifier()
        self.store = MessageStore(self.notifier)
        self.commands = CommandRegistry(self.snowflakes, application_id)
        self.interactions: dict[int, InteractionRecord] = {}
        self.interactions_by_token: dict[str, InteractionRecord] = {}
        self.expired_interactions: list[int] = []
        self.requests: list[JSON] = []
        self.unknown_requests: list[JSON] = []
        self.validation_errors: list[JSON] = []
        self.error_responses: list[JSON] = []
        self.internal_errors: list[JSON] = []
        self.reactions: list[JSON] = []
        self.faults = Faults()
        self.cdn = Cdn(lambda: self.base_url, self.snowflakes.next)
        self.gateway = GatewayServer(self)
        # Knobs tests may change.
        self.heartbeat_interval_ms = 41250
        self.interaction_deadline: float | None = 3.0
        self.echo_bot_messages = True
        self.privileged_intents = PRIVILEGED_INTENTS
        # True: a user lacking a command's default_member_permissions cannot run it (Discord hides
        # it from them unless the server overrode it in its Integrations settings).
        self.enforce_default_member_permissions = False
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    @classmethod
    def with_default_world(cls, **kwargs: Any) -> Self:
        """A fake holding DefaultIds' guild: owner, admin (Manage Server role), member, #general, bot."""
        fake = cls(**kwargs)
        fake.ids = populate_default_world(fake.world, fake.bot_user_id)
        return fake

    # --------------------------------------------------------------- lifecycle
    async def start(self) -> Self:
        """Bind 127.0.0.1 on a free port and serve REST + gateway."""
        app = web.Application(middlewares=[make_middleware(self)], client_max_size=64 * 1024 * 1024)
        for path in self.gateway_paths:
            app.router.add_get(path, self.gateway.handle)
        CoreRoutes(self).register(app)
        InteractionRoutes(self).register(app)
        self.cdn.register(app)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        """Close gateway sockets and the HTTP server."""
        if self._runner is None:
            return
        await self.gateway.close_all()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeDiscord is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        """Given in READY; a different path so tests can see discord.py resumes where told."""
        return f"ws://127.0.0.1:{self.port}/resume-gateway"

    gateway_paths = ("/gateway", "/resume-gateway", "/")

    # ------------------------------------------------------------------- world
    def add_guild(self, guild_id: int, name: str, owner_id: int) -> None:
        self.world.add_guild(guild_id, name, owner_id)
        self.world.add_member(guild_id, self.bot_user_id)

    def add_role(self, guild_id: int, role_id: int, name: str, permissions: int) -> Role:
        return self.world.add_role(guild_id, role_id, name, permissions)

    def add_member(
        self, guild_id: int, user_id: int, username: str | None = None, roles: list[int] | None = None
    ) -> None:
        self.world.add_member(guild_id, user_id, username, roles)

    def add_channel(self, guild_id: int, channel_id: int, name: str) -> None:
        self.world.add_channel(guild_id, channel_id, name)

    def add_user(self, user_id: int, username: str) -> None:
        self.world.add_user(user_id, username)

    def add_server(self, name: str, *, user_prefix: str | None = None) -> DefaultIds:
        """Another guild shaped like the default one, with fresh ids: owner, admin (Manage Server
        via a "Moderators" role), plain member, #general and the bot (with its managed role).

        Usernames get user_prefix (default: the guild name, lower-cased, plus "-"). Add it before
        the bot connects, or call announce_guild afterwards (the bot being invited meanwhile)."""
        prefix = user_prefix if user_prefix is not None else name.lower().replace(" ", "-") + "-"
        return populate_default_world(
            self.world, self.bot_user_id, fresh_ids(self.snowflakes), guild_name=name, user_prefix=prefix
        )

    def add_guild_member(
        self,
        guild_id: int,
        *,
        permissions: int = 0,
        roles: list[int] | None = None,
        user_id: int | None = None,
        username: str | None = None,
    ) -> int:
        """A member of guild_id with `roles`, plus a new role granting `permissions` when non-zero
        (e.g. world.MANAGE_GUILD, world.ADMINISTRATOR); user_id reuses a user of another guild.
        Returns the user id; interactions carry the permissions computed from the roles."""
        return self.world.add_member_with(
            guild_id, permissions=permissions, roles=roles, user_id=user_id, username=username
        )

    async def announce_guild(self, guild_id: int) -> None:
        """GUILD_CREATE for guild_id on the bot's session, as when the bot is added to a server."""
        guild = self.world.guilds[guild_id]
        members = list(guild.members) if self.gateway.intents() & INTENT_GUILD_PRESENCES else [self.bot_user_id]
        await self.gateway.dispatch(
            "GUILD_CREATE", payloads.guild_create_payload(guild, self.world, member_ids=members)
        )

    def dm_channel_id(self, user_id: int) -> int:
        """The DM channel between the bot and user_id (the same one the bot gets from the API)."""
        return self.world.dm_channel(user_id).id

    @staticmethod
    def mention(user_id: int) -> str:
        return f"<@{user_id}>"

    @property
    def bot_mention(self) -> str:
        return f"<@{self.bot_user_id}>"

    def register_command(self, definition: JSON, *, guild_id: int | None = None) -> JSON:
        """Pre-register a command as if a previous run of the bot had synced it."""
        return self.commands.upsert(guild_id, definition)[0]

    # --------------------------------------------------------------- records
    @property
    def messages(self) -> list[JSON]:
        """Every message the bot created or edited (see MessageStore.record for the fields)."""
        return self.store.sent

    @property
    def global_commands(self) -> list[JSON]:
        return self.commands.global_commands

    @property
    def guild_commands(self) -> dict[int, list[JSON]]:
        return self.commands.guild_commands

    def get_message(self, message_id: int) -> JSON:
        message = self.store.get(message_id)
        if message is None:
            raise LookupError(f"no stored message {message_id}")
        return message

    async def wait_for_message(
        self, predicate: Callable[[JSON], bool] | None = None, timeout: float = 5.0, *, since: int = 0
    ) -> JSON:
        """First sent-message record (index >= since) matching predicate.

        Pass since=len(fake.messages) for new ones only."""

        def check() -> JSON | None:
            return next((m for m in self.store.sent[since:] if predicate is None or predicate(m)), None)

        def describe() -> str:
            recent = [(m["kind"], m["content"][:60]) for m in self.store.sent[since:]][-10:]
            return f"no matching bot message within {timeout}s; recent={recent} errors={self.error_responses[-5:]}"

        return await self.notifier.wait_for(check, timeout, describe)

    async def wait_for_request(
        self, predicate: Callable[[JSON], bool], timeout: float = 5.0, *, since: int = 0
    ) -> JSON:
        """First recorded REST request matching predicate."""

        def check() -> JSON | None:
            return next((r for r in self.requests[since:] if r["status"] is not None and predicate(r)), None)

        return await self.notifier.wait_for(check, timeout, lambda: f"no matching request within {timeout}s")

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Until condition() holds; re-checked whenever a request, message or gateway event is recorded."""
        await self.notifier.wait_for(
            lambda: True if condition() else None, timeout, lambda: f"condition not met within {timeout}s"
        )

    # ---------------------------------------------------------------- faults
    def rate_limit(
        self, route: str, count: int = 1, retry_after: float = 0.2, is_global: bool = False, scope: str = "user"
    ) -> None:
        """Answer the next `count` requests whose "METHOD /path" contains `route` with a 429."""
        self.faults.rules.append(
            Fault(route=route, count=count, status=429, retry_after=retry_after, is_global=is_global, scope=scope)
        )

    def fail_next(self, route: str, status: int = 500, count: int = 1) -> None:
        """Answer the next `count` matching requests with a 5xx (discord.py retries 500/502/504)."""
        self.faults.rules.append(Fault(route=route, count=count, status=status))

    # --------------------------------------------------------------- gateway
    @property
    def heartbeats(self) -> list[tuple[float, int]]:
        return self.gateway.heartbeats

    @property
    def identify_payloads(self) -> list[JSON]:
        return self.gateway.identify_payloads

    @property
    def identify_count(self) -> int:
        return self.gateway.identify_count

    @property
    def resume_count(self) -> int:
        return self.gateway.resume_count

    @property
    def connection_count(self) -> int:
        return len(self.gateway.connections)

    @property
    def connections(self) -> list[JSON]:
        """Per-websocket info: path, query (v, encoding, compress), open/close times, close code."""
        return [c.info for c in self.gateway.connections]

    def max_heartbeat_gap(self) -> float:
        """Largest interval between consecutive heartbeats on one connection (0 if < 2 beats)."""
        gaps = [b[0] - a[0] for a, b in zip(self.heartbeats, self.heartbeats[1:], strict=False) if a[1] == b[1]]
        return max(gaps, default=0.0)

    def late_heartbeats(self, since: float = 0.0, until: float | None = None, *, slack: float = 1.0) -> list[JSON]:
        """Heartbeat gaps longer than the interval plus `slack` seconds overlapping [since, until].

        Times are time.monotonic(); until defaults to now, so a beat overdue right now counts.
        Each gap is {"connection", "start", "end", "gap"}; see heartbeats.late_heartbeats."""
        return late_heartbeats(
            self.heartbeats,
            self.connections,
            interval=self.heartbeat_interval_ms / 1000,
            since=since,
            until=time.monotonic() if until is None else until,
            slack=slack,
        )

    def assert_heartbeats_on_time(self, since: float = 0.0, until: float | None = None, *, slack: float = 1.0) -> None:
        """Fail (AssertionError) if any heartbeat in the window came later than interval + slack."""
        late = self.late_heartbeats(since, until, slack=slack)
        interval = self.heartbeat_interval_ms / 1000
        if late:
            raise AssertionError(f"late heartbeats (interval {interval}s, slack {slack}s): {late}")

    async def wait_until_ready(self, timeout: float = 10.0) -> None:
        """Until a session is READY (after IDENTIFY) or RESUMED on a live connection."""
        try:
            await asyncio.wait_for(self.gateway.ready_event.wait(), timeout)
        except TimeoutError:
            raise TimeoutError(f"gateway not ready within {timeout}s; connections={self.connections}") from None

    def stop_acking_heartbeats(self) -> None:
        """Stop ACKing heartbeats on the current connection (a zombie; the bot should reconnect)."""
        self.gateway.stop_acking()

    async def close_gateway(self, code: int = 1000, message: str = "") -> None:
        """Close the live gateway websocket with `code` (4004/4010-4014 are fatal for discord.py)."""
        await self.gateway.close(code, message)

    def drop_gateway(self) -> None:
        """Abort the gateway TCP connection without a close frame."""
        self.gateway.drop()

    async def send_reconnect(self) -> None:
        """Send op 7 RECONNECT (the client should resume on a new socket)."""
        await self.gateway.send_op(OP_RECONNECT, None)

    async def invalidate_session(self, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION; not resumable forces a fresh IDENTIFY."""
        await self.gateway.send_op(OP_INVALID_SESSION, resumable)

    async def request_heartbeat(self) -> None:
        """Send op 1, asking the client for an immediate heartbeat."""
        await self.gateway.send_op(OP_HEARTBEAT, None)

    async def dispatch(self, event: str, data: JSON) -> None:
        """Send any raw dispatch event on the bot's session (for events without a helper)."""
        await self.gateway.dispatch(event, data)
