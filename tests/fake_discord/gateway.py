"""Gateway v10 (JSON, optional zlib-stream) websocket emulation.

Implements the parts of the gateway protocol a bot relies on: HELLO/heartbeat/ACK,
IDENTIFY -> READY + GUILD_CREATE, RESUME with replay, INVALID_SESSION, RECONNECT, member
chunk requests, Discord's close codes, and switches to break the connection on purpose.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from . import payloads

if TYPE_CHECKING:
    from .server import FakeDiscordCore

JSON = dict[str, Any]

OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_PRESENCE, OP_VOICE_STATE = 0, 1, 2, 3, 4
OP_RESUME, OP_RECONNECT, OP_REQUEST_MEMBERS, OP_INVALID_SESSION = 6, 7, 8, 9
OP_HELLO, OP_HEARTBEAT_ACK = 10, 11

INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT
# Closing with these (server side) or 1000/1001 (client side) ends the session for good.
SESSION_ENDING_CLOSE_CODES = {4007, 4009}


def _frame(op: int, d: Any, *, s: int | None = None, t: str | None = None) -> JSON:
    return {"op": op, "d": d, "s": s, "t": t}


@dataclass
class GatewaySession:
    """A gateway session: survives reconnects, owns the sequence and the replay buffer."""

    id: str
    intents: int
    shard: list[int] | None
    seq: int = 0
    buffer: list[JSON] = field(default_factory=list)
    connection: GatewayConnection | None = None
    invalid: bool = False

    def next(self, event: str, data: JSON) -> JSON:
        self.seq += 1
        frame = _frame(OP_DISPATCH, data, s=self.seq, t=event)
        self.buffer.append(frame)
        return frame


class GatewayConnection:
    """One websocket; serialises sends so zlib-stream frames stay in order."""

    def __init__(self, number: int, ws: web.WebSocketResponse, request: web.Request, compress: str | None) -> None:
        self.number = number
        self.ws = ws
        self.request = request
        self.compressor = zlib.compressobj() if compress == "zlib-stream" else None
        self.session: GatewaySession | None = None
        self.acking = True
        self.lock = asyncio.Lock()
        self.info: JSON = {
            "number": number,
            "path": request.path,
            "query": dict(request.query),
            "opened": time.monotonic(),
            "closed": None,
            "close_code": None,
            "closed_by": None,
        }

    @property
    def live(self) -> bool:
        return not self.ws.closed

    async def send(self, frame: JSON) -> bool:
        text = json.dumps(frame, separators=(",", ":"))
        async with self.lock:
            if self.ws.closed:
                return False
            try:
                if self.compressor is not None:
                    data = self.compressor.compress(text.encode()) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
                    await self.ws.send_bytes(data)
                else:
                    await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return False
        return True

    async def close(self, code: int, message: str = "") -> None:
        self.info["closed_by"] = self.info["closed_by"] or "server"
        self.info["close_code"] = self.info["close_code"] or code
        await self.ws.close(code=code, message=message.encode())


class GatewayServer:
    """All gateway state of one FakeDiscord; see FakeDiscord for the public switches."""

    def __init__(self, fake: FakeDiscordCore) -> None:
        self.fake = fake
        self.connections: list[GatewayConnection] = []
        self.sessions: dict[str, GatewaySession] = {}
        self.current: GatewaySession | None = None
        self.heartbeats: list[tuple[float, int]] = []
        self.identify_payloads: list[JSON] = []
        self.resume_payloads: list[JSON] = []
        self.presence_updates: list[JSON] = []
        self.voice_state_updates: list[JSON] = []
        self.member_requests: list[JSON] = []
        self.suppressed_events: list[JSON] = []
        self.identify_count = 0
        self.resume_count = 0
        self.invalid_session_count = 0
        self.ready_event = asyncio.Event()

    # ----------------------------------------------------------------- websocket
    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        compress = request.query.get("compress")
        conn = GatewayConnection(len(self.connections) + 1, ws, request, compress)
        self.connections.append(conn)
        await conn.send(
            _frame(OP_HELLO, {"heartbeat_interval": self.fake.heartbeat_interval_ms, "_trace": ["fake-gateway"]})
        )
        try:
            while True:
                msg = await ws.receive()
                if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    raw = msg.data if isinstance(msg.data, str) else msg.data.decode()
                    try:
                        frame = json.loads(raw)
                    except ValueError:
                        await conn.close(4002, "Error while decoding payload.")
                        break
                    await self._on_frame(conn, frame)
                    continue
                if msg.type == WSMsgType.CLOSE and conn.info["closed_by"] is None:
                    conn.info["closed_by"] = "client"
                    conn.info["close_code"] = int(msg.data)
                break
        finally:
            self._on_closed(conn)
        return ws

    def _on_closed(self, conn: GatewayConnection) -> None:
        conn.info["closed"] = time.monotonic()
        conn.info["close_code"] = conn.info["close_code"] or (
            int(conn.ws.close_code) if conn.ws.close_code is not None else None
        )
        conn.info["closed_by"] = conn.info["closed_by"] or "client"
        session = conn.session
        if session is None or session.connection is not conn:
            return
        session.connection = None
        code = conn.info["close_code"]
        ended_by_client = conn.info["closed_by"] == "client" and code in (1000, 1001)
        if ended_by_client or code in SESSION_ENDING_CLOSE_CODES:
            session.invalid = True
        if session is self.current:
            self.ready_event.clear()
        self.fake.notifier.notify()

    async def _on_frame(self, conn: GatewayConnection, frame: JSON) -> None:
        op, data = frame.get("op"), frame.get("d")
        if op == OP_HEARTBEAT:
            self.heartbeats.append((time.monotonic(), conn.number))
            self.fake.notifier.notify()
            if conn.acking:
                await conn.send(_frame(OP_HEARTBEAT_ACK, None))
        elif op == OP_IDENTIFY:
            await self._identify(conn, data or {})
        elif op == OP_RESUME:
            await self._resume(conn, data or {})
        elif op in (OP_PRESENCE, OP_VOICE_STATE, OP_REQUEST_MEMBERS):
            if conn.session is None:
                await conn.close(4003, "Not authenticated.")
            elif op == OP_PRESENCE:
                self.presence_updates.append(data or {})
            elif op == OP_VOICE_STATE:
                self.voice_state_updates.append(data or {})
            else:
                await self._request_members(conn, data or {})
        else:
            await conn.close(4001, "Unknown opcode.")

    # ------------------------------------------------------------ identify/resume
    async def _identify(self, conn: GatewayConnection, data: JSON) -> None:
        fake = self.fake
        if conn.session is not None:
            await conn.close(4005, "Already authenticated.")
            return
        self.identify_payloads.append({k: v for k, v in data.items() if k != "token"})
        if data.get("token") != fake.token:
            await conn.close(4004, "Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int):
            await conn.close(4013, "Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~fake.privileged_intents:
            await conn.close(4014, "Disallowed intent(s).")
            return
        self.identify_count += 1
        shard = data.get("shard")
        session = GatewaySession(id=uuid.uuid4().hex, intents=intents, shard=shard)
        self.sessions[session.id] = session
        guild_ids = [g for g in fake.world.guilds if shard is None or (g >> 22) % shard[1] == shard[0]]
        ready = payloads.ready_payload(
            bot=fake.bot_user,
            guild_ids=guild_ids,
            session_id=session.id,
            resume_gateway_url=fake.resume_gateway_url,
            application_id=fake.application_id,
            application_flags=fake.application_flags,
            shard=shard,
        )
        conn.session = session
        session.connection = conn
        self.current = session
        await conn.send(session.next("READY", ready))
        for guild_id in guild_ids:
            guild = fake.world.guilds[guild_id]
            members = list(guild.members) if intents & INTENT_GUILD_PRESENCES else [fake.bot_user_id]
            await conn.send(
                session.next("GUILD_CREATE", payloads.guild_create_payload(guild, fake.world, member_ids=members))
            )
        self.ready_event.set()
        fake.notifier.notify()

    async def _resume(self, conn: GatewayConnection, data: JSON) -> None:
        self.resume_payloads.append({k: v for k, v in data.items() if k != "token"})
        session = self.sessions.get(str(data.get("session_id")))
        seq = data.get("seq")
        if data.get("token") != self.fake.token:
            await conn.close(4004, "Authentication failed.")
            return
        if session is None or session.invalid or not isinstance(seq, int) or seq > session.seq:
            self.invalid_session_count += 1
            await conn.send(_frame(OP_INVALID_SESSION, False))
            return
        old = session.connection
        if old is not None and old is not conn and old.live:
            session.connection = None
            await old.close(4000, "Session resumed elsewhere.")
        conn.session = session
        sent_upto = seq
        while True:
            pending = [f for f in session.buffer if f["s"] > sent_upto]
            if not pending:
                break
            for frame in pending:
                await conn.send(frame)
                sent_upto = frame["s"]
        resumed = session.next("RESUMED", {"_trace": ["fake-gateway"]})
        session.connection = conn
        self.current = session
        self.resume_count += 1
        await conn.send(resumed)
        self.ready_event.set()
        self.fake.notifier.notify()

    async def _request_members(self, conn: GatewayConnection, data: JSON) -> None:
        self.member_requests.append(data)
        session = conn.session
        assert session is not None
        raw_ids = data.get("guild_id")
        guild_ids = raw_ids if isinstance(raw_ids, list) else [raw_ids]
        query = str(data.get("query") or "").lower()
        limit = int(data.get("limit") or 0)
        user_ids = [int(u) for u in data.get("user_ids") or []]
        for gid in guild_ids:
            guild = self.fake.world.guilds.get(int(gid or 0))
            if guild is None:
                continue
            found = [
                m
                for uid, m in guild.members.items()
                if (not user_ids or uid in user_ids) and self.fake.world.user(uid).username.lower().startswith(query)
            ]
            if limit:
                found = found[:limit]
            chunk: JSON = {
                "guild_id": str(guild.id),
                "members": [payloads.member_payload(m, self.fake.world.user(m.user_id)) for m in found],
                "chunk_index": 0,
                "chunk_count": 1,
            }
            if user_ids:
                chunk["not_found"] = [str(u) for u in user_ids if u not in guild.members]
            if data.get("nonce"):
                chunk["nonce"] = data["nonce"]
            await self.dispatch("GUILD_MEMBERS_CHUNK", chunk)

    # ------------------------------------------------------------------- dispatch
    def has_session(self) -> bool:
        """Whether dispatches currently have a (possibly disconnected, resumable) session."""
        return self.current is not None and not self.current.invalid

    def intents(self) -> int:
        """Intents of the current session (0 before the first IDENTIFY)."""
        return self.current.intents if self.current else 0

    async def dispatch(self, event: str, data: JSON, *, required_intent: int = 0) -> bool:
        """Send a dispatch on the current session (buffered for RESUME when disconnected).

        Returns False when the session's intents filter the event out, as Discord would.
        """
        session = self.current
        if session is None or session.invalid:
            raise RuntimeError("No gateway session: is the bot connected to the fake (point_discord_py_at)?")
        if required_intent and not session.intents & required_intent:
            self.suppressed_events.append({"t": event, "d": data})
            return False
        frame = session.next(event, data)
        conn = session.connection
        if conn is not None and conn.live:
            await conn.send(frame)
        return True

    # ------------------------------------------------------------------- switches
    def live_connection(self) -> GatewayConnection | None:
        session = self.current
        conn = session.connection if session else None
        return conn if conn is not None and conn.live else None

    async def close(self, code: int = 1000, message: str = "") -> None:
        conn = self.live_connection()
        self.ready_event.clear()
        if conn is not None:
            await conn.close(code, message)

    def drop(self) -> None:
        conn = self.live_connection()
        self.ready_event.clear()
        if conn is None:
            return
        conn.info["closed_by"] = "server-drop"
        transport = conn.request.transport
        if transport is not None:
            transport.abort()

    def stop_acking(self) -> None:
        for conn in self.connections:
            if conn.live:
                conn.acking = False

    async def send_op(self, op: int, data: Any) -> None:
        conn = self.live_connection()
        if conn is None:
            raise RuntimeError("No live gateway connection")
        if op in (OP_RECONNECT, OP_INVALID_SESSION):
            self.ready_event.clear()
            if op == OP_INVALID_SESSION and not data and conn.session is not None:
                conn.session.invalid = True
        await conn.send(_frame(op, data))

    async def close_all(self) -> None:
        for conn in self.connections:
            if conn.live:
                await conn.close(1001, "Server shutting down.")
