"""Helpers for the reliability tests (tests/test_reliability_*.py): faults, load, hostile input.

- `SLOW`: marks a long test; it runs only when STORYBOT_SLOW_TESTS=1.
- `outcome_of`: what a user ended up seeing for one question (answer, cooldown, busy, apology).
- `token_watch`: a session-wide log handler that keeps every log line (DEBUG included) of the
  e2e tests, so a test can prove the bot token never reaches a log (an autouse fixture, registered
  for the whole suite by `pytest_plugins` in tests/conftest.py).
- `FileAudit`: an audit hook listing every file the process opens, creates or deletes.
- `BotProcess`: `storybot run` in its own process (optionally with a test hook run first),
  its merged output read line by line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import render
from bot.render import FOOTER_ANSWERED, FOOTER_NOT_ANSWERED
from tests.fake_discord import DefaultIds, FakeDiscord
from tests.helpers import MODEL_CACHE, REPO

SLOW_ENABLED = os.environ.get("STORYBOT_SLOW_TESTS") == "1"
SLOW = pytest.mark.skipif(not SLOW_ENABLED, reason="long run: set STORYBOT_SLOW_TESTS=1")

REAL_LOOKING_TOKEN = "ODU1NTU1NTU1NTU1NTU1NTU1.GabcDE.abcdefghijklmnopqrstuvwxyz0123456789AB"
WATCHED_TOKENS = {"fake-bot-token", REAL_LOOKING_TOKEN}
"""Bot tokens the e2e fakes use (FakeDiscord's default and the real-looking one of these tests)."""

JSON = dict[str, Any]


def slow(test: Any) -> Any:
    """@pytest.mark.slow plus the STORYBOT_SLOW_TESTS=1 switch."""
    return pytest.mark.slow(SLOW(test))


# -- what a user saw ------------------------------------------------------------------------


def outcome_of(message: JSON) -> str:
    """ "answered" (an answer card, or the "the story doesn't say" card), "cooldown", "busy",
    "apology", "refused" (another short refusal) or "other"."""
    embeds = message.get("embeds") or []
    if embeds and (embeds[0].get("footer") or {}).get("text") in (FOOTER_ANSWERED, FOOTER_NOT_ANSWERED):
        return "answered"
    content = message.get("content") or ""
    if content.startswith("You're asking quickly"):
        return "cooldown"
    if content == render.BUSY_TEXT:
        return "busy"
    if content == render.APOLOGY_TEXT:
        return "apology"
    if content in (render.EMPTY_TEXT, render.NOT_READY_TEXT) or content.startswith("That question is"):
        return "refused"
    return "other"


def replies_to(fake: FakeDiscord, message_id: int) -> list[JSON]:
    """The bot's channel messages that reply to a user's message."""
    return [
        m
        for m in fake.messages
        if m["kind"] == "channel" and int((m["message_reference"] or {}).get("message_id") or 0) == int(message_id)
    ]


async def reply_to(fake: FakeDiscord, message_id: int, timeout: float = 10.0) -> JSON:
    """The bot's (first) reply to a user's message, once it exists."""

    def check() -> JSON | None:
        found = replies_to(fake, message_id)
        return found[0] if found else None

    return await fake.notifier.wait_for(
        check, timeout, lambda: f"no reply to message {message_id}; errors={fake.error_responses[-5:]}"
    )


async def mention(fake: FakeDiscord, question: str, *, author: int = DefaultIds.member) -> JSON:
    """A user asks by mentioning the bot; returns the stored user message."""
    return await fake.user_message(content=f"{fake.bot_mention} {question}", author_id=author)


# -- logs -----------------------------------------------------------------------------------


class TokenWatch(logging.Handler):
    """Keeps the full text (message, traceback, stack) of every record it sees, once each."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self._lock_lines = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        seen = record.__dict__.setdefault(_SEEN, set())
        if id(self) in seen:
            return
        seen.add(id(self))
        try:
            text = record.getMessage()
        except Exception:
            text = f"{record.msg} {record.args}"
        parts = [record.name, text]
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
        if record.exc_text:
            parts.append(record.exc_text)
        if record.stack_info:
            parts.append(record.stack_info)
        with self._lock_lines:
            self.lines.append(" ".join(parts))

    def text(self) -> str:
        with self._lock_lines:
            return "\n".join(self.lines)

    def leaks(self, tokens: set[str] | None = None) -> list[str]:
        with self._lock_lines:
            return [line for line in self.lines if any(t in line for t in tokens or WATCHED_TOKENS)]


class _ShowThenPassAsBefore(logging.Filter):
    """On a watched logger: shows each record to the watch, then lets it on only if it would have
    been emitted at the levels in force before the watch lowered them (so pytest's own log
    capture and every other handler see exactly what they saw without the watch)."""

    def __init__(self, watch: TokenWatch, saved: dict[str, int]) -> None:
        super().__init__()
        self.watch = watch
        self.saved = saved

    def filter(self, record: logging.LogRecord) -> bool:
        for watch in (self.watch, *_WATCH):  # every active watch: a filter that blocks ends the chain
            watch.emit(record)
        node: logging.Logger | None = logging.getLogger(record.name)
        while node is not None:
            level = self.saved.get(node.name, node.level)
            if level != logging.NOTSET:
                return record.levelno >= level
            node = node.parent
        return True


_SEEN = "storybot_token_watch"
WATCHED_LOGGERS = ("discord", "bot", "index", "aiohttp")
_WATCH: list[TokenWatch] = []


@pytest.fixture(scope="session", autouse=True)
def token_watch() -> Iterator[TokenWatch]:
    """Every log record of the session's e2e runs (discord.py, aiohttp and storybot, DEBUG included).

    At the end of the session no line may hold a bot token. tests/conftest.py registers this
    module as a plugin, so the autouse fixture watches the whole suite. Other handlers (pytest's
    capture included) still get only what they got before.
    """
    watch = TokenWatch()
    root = logging.getLogger()
    saved = {name: logging.getLogger(name).level for name in WATCHED_LOGGERS}
    watched = [
        logger
        for name, logger in list(logging.root.manager.loggerDict.items())
        if isinstance(logger, logging.Logger) and any(name == w or name.startswith(w + ".") for w in WATCHED_LOGGERS)
    ]
    watched += [logging.getLogger(name) for name in WATCHED_LOGGERS]
    show = _ShowThenPassAsBefore(watch, saved)
    for logger in set(watched):
        logger.addFilter(show)
    root.addHandler(watch)  # records of loggers created later, and of everything else
    for name in WATCHED_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    _WATCH.append(watch)
    try:
        yield watch
    finally:
        _WATCH.remove(watch)
        root.removeHandler(watch)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
        for logger in set(watched):
            logger.removeFilter(show)
    leaks = watch.leaks()
    assert not leaks, f"a bot token reached the log: {leaks[:3]}"


# -- file access ----------------------------------------------------------------------------

_AUDITED = {
    "open": 0,
    "os.remove": 0,
    "os.rename": 0,
    "os.mkdir": 0,
    "os.rmdir": 0,
    "os.listdir": 0,
    "os.scandir": 0,
    "os.chmod": 0,
    "os.truncate": 0,
    "shutil.rmtree": 0,
    "sqlite3.connect": 0,
}


class FileAudit:
    """Every path the process opens, lists, creates or deletes while `recording()` is active.

    Python's audit hooks cannot be removed, so one hook is installed for the whole session and
    does nothing unless a recording is in progress.
    """

    _installed = False
    _active: list[list[tuple[str, str]]] = []  # noqa: RUF012 - shared by design

    @classmethod
    def _hook(cls, event: str, args: tuple[Any, ...]) -> None:
        if not cls._active or event not in _AUDITED:
            return
        path = args[_AUDITED[event]] if args else None
        if isinstance(path, (str, bytes, os.PathLike)):
            for sink in cls._active:
                sink.append((event, os.fsdecode(path)))

    @classmethod
    @contextlib.contextmanager
    def recording(cls) -> Iterator[list[tuple[str, str]]]:
        if not cls._installed:
            sys.addaudithook(cls._hook)
            cls._installed = True
        seen: list[tuple[str, str]] = []
        cls._active.append(seen)
        try:
            yield seen
        finally:
            cls._active.remove(seen)


def outside(paths: list[tuple[str, str]], allowed: list[Path]) -> list[tuple[str, str]]:
    """The (event, path) pairs that touch anything but `allowed` folders and the Python install."""
    roots = [Path(p).resolve() for p in (*allowed, sys.prefix, sys.base_prefix, sys.exec_prefix)]
    bad = []
    for event, raw in paths:
        if raw in ("", ":memory:") or raw.startswith(("/proc/", "/dev/null", "/dev/urandom", "/sys/")):
            continue
        path = Path(raw).resolve()
        if not any(path == root or root in path.parents for root in roots):
            bad.append((event, raw))
    return bad


# -- `storybot run` in a process ------------------------------------------------------------

RUN = (
    "import sys; from bot.settings import load_settings; from bot.runner import run_bot; "
    "sys.exit(run_bot(load_settings()))"
)


def process_env(fake: FakeDiscord | None, workdir: Path, **overrides: str) -> dict[str, str]:
    """A clean environment for a storybot process in `workdir` (corpus/, index/, data/)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(workdir),
        "PYTHONPATH": str(REPO),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "STORYBOT_CORPUS_DIR": str(workdir / "corpus"),
        "STORYBOT_INDEX_DIR": str(workdir / "index"),
        "STORYBOT_DATA_DIR": str(workdir / "data"),
        "STORYBOT_MODEL_CACHE_DIR": str(MODEL_CACHE),
    }
    if fake is not None:
        env.update(
            {
                "DISCORD_TOKEN": fake.token,
                "STORYBOT_DISCORD_API_URL": f"{fake.base_url}/api/v10",
                "STORYBOT_DISCORD_GATEWAY_URL": fake.gateway_url,
                "STORYBOT_GUILD_IDS": str(DefaultIds.guild),
            }
        )
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


class BotProcess:
    """A `storybot run` process (stdout and stderr merged), read line by line as it runs."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, env: dict[str, str], cwd: Path, *, hook: str = "", prefix: tuple[str, ...] = ()) -> BotProcess:
        """Start `storybot run`; `hook` is Python run first (a test's fault injection, never in production)."""
        process = await asyncio.create_subprocess_exec(
            *prefix,
            sys.executable,
            "-c",
            f"{hook}\n{RUN}",
            cwd=cwd,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        return cls(process)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.lines.append(line.decode(errors="replace").rstrip("\n"))
            self._changed.set()
        self._changed.set()

    async def wait_for_line(self, pattern: str, timeout: float = 120.0) -> str:
        """The first output line matching the regex `pattern` (fails if the process exits first)."""
        regex = re.compile(pattern)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for line in self.lines:
                if regex.search(line):
                    return line
            if self._reader.done():
                raise AssertionError(f"process exited ({self.process.returncode}) before {pattern!r}:\n{self.log}")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no line matching {pattern!r} within {timeout}s:\n{self.log}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def wait_ready(self, fake: FakeDiscord, timeout: float = 240.0) -> None:
        """Until the bot's gateway session is READY (fails at once if the process exits)."""
        ready = asyncio.create_task(fake.wait_until_ready(timeout=timeout))
        exited = asyncio.create_task(self.process.wait())
        await asyncio.wait({ready, exited}, return_when=asyncio.FIRST_COMPLETED)
        if exited.done():
            ready.cancel()
            await self._reader
            raise AssertionError(f"storybot run exited with {exited.result()}:\n{self.log}")
        exited.cancel()
        await ready

    async def wait(self, timeout: float = 60.0) -> int:
        code = await asyncio.wait_for(self.process.wait(), timeout)
        await self._reader
        return code

    async def terminate(self, timeout: float = 60.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        return await self.wait(timeout)

    async def kill(self) -> int:
        self.process.send_signal(signal.SIGKILL)
        return await self.wait(30)

    async def ensure_stopped(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._reader, 5)


async def run_cli(
    args: list[str], cwd: Path, env: dict[str, str], timeout: float = 120.0, prefix: tuple[str, ...] = ()
) -> tuple[int, str, str]:
    """`python -m bot.cli ARGS` as a process: (exit code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        *prefix,
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def without_root_file_access() -> tuple[str, ...] | None:
    """A command prefix under which file permissions apply even to root (None if it cannot be had).

    Tests run as root in CI containers, and root reads every folder; `setpriv` drops the two
    capabilities that let it, so a chmod 000 folder is unreadable to the child.
    """
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = (setpriv, "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search")
    probe = subprocess.run([*prefix, "true"], capture_output=True, check=False)
    return prefix if probe.returncode == 0 else None


def rss_bytes(pid: int | None = None) -> int:
    """Resident set size of a process (this one by default), from /proc."""
    status = Path(f"/proc/{pid or 'self'}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    assert match is not None
    return int(match[1]) * 1024


def all_log_text() -> str:
    """Everything the session's token watch has seen so far."""
    return "\n".join(w.text() for w in _WATCH)


Predicate = Callable[[JSON], bool]
