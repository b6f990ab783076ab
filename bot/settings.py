"""One typed settings object, read from the environment and `.env`, checked once at start-up.

Every field has a default and a one-line description; the same table feeds `.env.example`
and the README, so documentation and code cannot drift apart.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from index.config import DEFAULT_MODEL, MAX_QUESTION_CHARS, EngineConfig
from index.embedding.runtime import RUNTIMES
from index.errors import StorybotError

PREFIX = "STORYBOT_"
DISCORD_API_URL = "https://discord.com/api/v10"
DISCORD_GATEWAY_URL = "wss://gateway.discord.gg/"


class SettingsError(StorybotError):
    """A setting has a value storybot cannot use; the message names the setting."""


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected true or false")


def _parse_ids(raw: str) -> tuple[int, ...]:
    ids = []
    for part in (piece.strip() for piece in raw.replace(";", ",").split(",")):
        if not part:
            continue
        if not part.isdigit() or not 15 <= len(part) <= 21:
            raise ValueError(f"{part!r} is not a Discord id (a number of 15 to 21 digits)")
        ids.append(int(part))
    return tuple(ids)


def _bounded_float(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        value = float(raw)
        if not low <= value <= high:
            raise ValueError(f"must be between {low:g} and {high:g}")
        return value

    return parse


def _bounded_int(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw)
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return parse


def _url(raw: str) -> str:
    value = raw.strip().rstrip("/")
    if not value.startswith(("http://", "https://", "ws://", "wss://")):
        raise ValueError("must start with http://, https://, ws:// or wss://")
    return value


def _log_level(raw: str) -> str:
    value = raw.strip().upper()
    if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
    return value


def _runtime(raw: str) -> str:
    value = raw.strip().lower()
    if value not in RUNTIMES:
        raise ValueError(f"must be one of {', '.join(RUNTIMES)}")
    return value


def _setting(env: str, default: Any, parse: Callable[[str], Any], help: str, secret: bool = False) -> Any:
    return field(default=default, metadata={"env": env, "parse": parse, "help": help, "secret": secret})


@dataclass(frozen=True)
class Settings:
    """storybot's configuration. Build it with `load_settings()`."""

    discord_token: str = _setting(
        "DISCORD_TOKEN",
        "",
        str.strip,
        "Bot token from the Discord developer portal (needed only for `storybot run`).",
        secret=True,
    )
    corpus_dir: Path = _setting(
        "STORYBOT_CORPUS_DIR", Path("corpus"), Path, "Folder of stories (.txt/.md), relative to the current folder."
    )
    index_dir: Path = _setting("STORYBOT_INDEX_DIR", Path(".storybot/index"), Path, "Where the built index is kept.")
    data_dir: Path = _setting(
        "STORYBOT_DATA_DIR", Path(".storybot/data"), Path, "Where the records database (questions, votes) is kept."
    )
    embedding_model: str = _setting(
        "STORYBOT_EMBEDDING_MODEL",
        DEFAULT_MODEL,
        str.strip,
        "Sentence-transformers model name or local path; the default is bundled and works offline.",
    )
    device: str = _setting(
        "STORYBOT_DEVICE", "cpu", str.strip, "Torch device for embedding: cpu, or cuda when present."
    )
    embedding_runtime: str = _setting(
        "STORYBOT_EMBEDDING_RUNTIME",
        "auto",
        _runtime,
        "auto: on the CPU, embed with an ONNX copy of the model, made once and checked to give its vectors (starts "
        "without PyTorch); torch: always sentence-transformers.",
    )
    reranker: bool = _setting(
        "STORYBOT_RERANKER",
        True,
        _parse_bool,
        "Reread each question's best candidate sentences with the trained cross-encoder (off: the first stage "
        "alone, several times faster per question, a little less often right).",
    )
    model_cache_dir: Path = _setting(
        "STORYBOT_MODEL_CACHE_DIR",
        Path(".storybot/models"),
        Path,
        "Where the ONNX copy of the embedding model is kept (about 90 MB for the bundled model).",
    )
    max_question_chars: int = _setting(
        "STORYBOT_MAX_QUESTION_CHARS",
        MAX_QUESTION_CHARS,
        _bounded_int(20, 4000),
        "Longest question accepted, in characters.",
    )
    top_k: int = _setting("STORYBOT_TOP_K", 3, _bounded_int(1, 10), "How many quotes an answer shows at most.")
    guild_ids: tuple[int, ...] = _setting(
        "STORYBOT_GUILD_IDS",
        (),
        _parse_ids,
        "Comma-separated ids of your own servers: commands sync there at start, and Manage Server counts as admin "
        "there.",
    )
    admin_user_ids: tuple[int, ...] = _setting(
        "STORYBOT_ADMIN_USER_IDS",
        (),
        _parse_ids,
        "Comma-separated user ids allowed to run admin commands anywhere, DMs included.",
    )
    admin_role_ids: tuple[int, ...] = _setting(
        "STORYBOT_ADMIN_ROLE_IDS", (), _parse_ids, "Comma-separated role ids whose members may run admin commands."
    )
    sync_global: bool = _setting(
        "STORYBOT_SYNC_GLOBAL",
        False,
        _parse_bool,
        "Also sync commands globally at start (takes up to an hour to show; usually run `storybot sync` once instead).",
    )
    application_id: int | None = _setting(
        "STORYBOT_APPLICATION_ID",
        None,
        lambda raw: _parse_ids(raw)[0] if raw.strip() else None,
        "Application id for `storybot invite-url` (read from the token when unset).",
    )
    cooldown_seconds: float = _setting(
        "STORYBOT_COOLDOWN_SECONDS",
        5.0,
        _bounded_float(0, 3600),
        "Seconds a user waits between questions (0 turns the cooldown off).",
    )
    max_in_flight: int = _setting(
        "STORYBOT_MAX_IN_FLIGHT", 16, _bounded_int(1, 1024), "Questions answered at once; more wait in a queue."
    )
    queue_timeout_seconds: float = _setting(
        "STORYBOT_QUEUE_TIMEOUT_SECONDS",
        10.0,
        _bounded_float(0, 600),
        "How long a question may wait for a free slot before the bot says it is busy.",
    )
    log_questions: bool = _setting(
        "STORYBOT_LOG_QUESTIONS", True, _parse_bool, "Record questions and their answers in the records database."
    )
    retention_days: int = _setting(
        "STORYBOT_RETENTION_DAYS",
        90,
        _bounded_int(0, 36500),
        "Delete records older than this many days (0 keeps them forever).",
    )
    log_level: str = _setting("STORYBOT_LOG_LEVEL", "INFO", _log_level, "Logging level: DEBUG, INFO, WARNING or ERROR.")
    fetch_timeout_seconds: float = _setting(
        "STORYBOT_FETCH_TIMEOUT_SECONDS",
        20.0,
        _bounded_float(1, 300),
        "Seconds `story add` may spend fetching a link, redirects included.",
    )
    max_story_bytes: int = _setting(
        "STORYBOT_MAX_STORY_BYTES",
        20 * 1024 * 1024,
        _bounded_int(1024, 200 * 1024 * 1024),
        "Largest file or page `story add` takes, in bytes (a page counts after decompression); a larger one is "
        "refused.",
    )
    fetch_max_redirects: int = _setting(
        "STORYBOT_FETCH_MAX_REDIRECTS",
        5,
        _bounded_int(0, 20),
        "Redirects `story add` follows for one link, each checked like the link itself.",
    )
    fetch_allow_loopback: bool = _setting(
        "STORYBOT_FETCH_ALLOW_LOOPBACK",
        False,
        _parse_bool,
        "Let `story add` fetch from this machine (127.0.0.1, ::1), for tests; private networks stay refused.",
    )
    discord_api_url: str = _setting(
        "STORYBOT_DISCORD_API_URL",
        DISCORD_API_URL,
        _url,
        "Discord REST base URL; change it only to route through a proxy.",
    )
    discord_gateway_url: str = _setting(
        "STORYBOT_DISCORD_GATEWAY_URL",
        DISCORD_GATEWAY_URL,
        _url,
        "Discord gateway websocket URL; change it only to route through a proxy.",
    )

    def engine_config(self) -> EngineConfig:
        return EngineConfig(
            corpus_dir=self.corpus_dir,
            index_dir=self.index_dir,
            model=self.embedding_model,
            model_cache_dir=self.model_cache_dir,
            device=self.device,
            runtime=self.embedding_runtime,
            max_question_chars=self.max_question_chars,
            reranker=self.reranker,
        )

    def __repr__(self) -> str:  # never show the token, even in a debugger or a traceback
        shown = {
            f.name: ("***" if f.metadata["secret"] and getattr(self, f.name) else getattr(self, f.name))
            for f in fields(self)
        }
        return f"Settings({shown!r})"


def describe_settings() -> list[tuple[str, str, str]]:
    """(variable, default, description) for every setting: feeds `.env.example` and the README."""
    rows = []
    for f in fields(Settings):
        default = f.default
        if isinstance(default, tuple):
            default = ",".join(map(str, default))
        elif isinstance(default, bool):
            default = str(default).lower()
        elif default is None:
            default = ""
        rows.append((f.metadata["env"], str(default), f.metadata["help"]))
    return rows


ENV_EXAMPLE_HEADER = """# storybot settings. Copy to .env and edit; the environment overrides this file.
# Every line shows the default; uncomment a line to change it.
"""


def render_env_example() -> str:
    """The text of `.env.example` (a test keeps the file equal to it)."""
    blocks = [ENV_EXAMPLE_HEADER]
    for env, default, help in describe_settings():
        line = f"{env}={default}" if env == "DISCORD_TOKEN" else f"# {env}={default}"
        blocks.append(f"# {help}\n{line}\n")
    return "\n".join(blocks)


def render_settings_table() -> str:
    """The README's settings table (a test keeps the README equal to it)."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for env, default, help in describe_settings():
        shown = f" `{default}` " if default else " "
        rows.append(f"| `{env}` |{shown}| {help} |")
    return "\n".join(rows) + "\n"


def known_variables() -> frozenset[str]:
    return frozenset(f.metadata["env"] for f in fields(Settings))


def parse_settings(values: Mapping[str, str]) -> Settings:
    """Build Settings from a mapping of variables; pure, so tests need no real environment."""
    known = known_variables()
    for name in sorted(values):
        if name.startswith(PREFIX) and name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise SettingsError(f"{name}: unknown setting{hint}")
    kwargs: dict[str, Any] = {}
    for f in fields(Settings):
        env = f.metadata["env"]
        raw = values.get(env)
        if raw is None:
            continue
        try:
            kwargs[f.name] = f.metadata["parse"](raw)
        except ValueError as exc:
            shown = "(hidden)" if f.metadata["secret"] else repr(raw)
            raise SettingsError(f"{env}={shown}: {exc}") from None
    return Settings(**kwargs)


def load_settings(env_file: Path | None = Path(".env"), environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment, with `.env` (python-dotenv) filling what it leaves unset."""
    from dotenv import dotenv_values

    merged: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        try:
            file_values = dotenv_values(env_file)
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{env_file}: cannot read it ({exc.__class__.__name__})") from None
        merged.update({k: v for k, v in file_values.items() if v is not None})
    source = os.environ if environ is None else environ
    merged.update({k: v for k, v in source.items() if k.startswith(PREFIX) or k == "DISCORD_TOKEN"})
    return parse_settings(merged)
