"""deploy/storybot.service, the systemd unit the README installs, checked against the code it runs.

No model and no Discord: the unit is parsed as text (systemd's syntax: sections, `Key=value`,
repeatable keys, space-separated lists), and `systemd-analyze verify` runs on it when the
machine has systemd.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import fields
from pathlib import Path, PurePosixPath

import pytest

from bot.cli import main as cli
from bot.settings import Settings, known_variables
from tests.helpers import REPO

UNIT = REPO / "deploy" / "storybot.service"
WRITTEN_DIRS = ("index_dir", "data_dir", "model_cache_dir", "corpus_dir")  # the folders storybot writes to


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """{section: {key: [values, in order]}}; comments and blank lines skipped, `\\` joins lines."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in re.sub(r"\\\n", " ", text).splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"a setting outside any section: {line!r}"
        key, sep, value = line.partition("=")
        assert sep, f"not Key=value: {line!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


@pytest.fixture(scope="module")
def service() -> dict[str, list[str]]:
    return parse_unit(UNIT.read_text(encoding="utf-8"))["Service"]


def one(service: dict[str, list[str]], key: str) -> str:
    values = service.get(key, [])
    assert len(values) == 1, f"{key}: expected one value, found {values}"
    return values[0]


def test_execstart_runs_the_venvs_storybot_run_in_the_working_directory(service: dict[str, list[str]]) -> None:
    workdir = PurePosixPath(one(service, "WorkingDirectory"))
    program, *args = one(service, "ExecStart").split()
    assert PurePosixPath(program) == workdir / ".venv" / "bin" / "storybot"
    assert args == ["run"]
    assert "run" in cli.commands
    assert PurePosixPath(one(service, "EnvironmentFile").lstrip("-")) == workdir / ".env"  # storybot reads it too


def test_every_folder_storybot_writes_is_writable_under_protect_system_strict(service: dict[str, list[str]]) -> None:
    assert one(service, "ProtectSystem") == "strict"
    workdir = PurePosixPath(one(service, "WorkingDirectory"))
    writable = [PurePosixPath(p.lstrip("-+")) for value in service["ReadWritePaths"] for p in value.split()]
    overridden = dict(v.split("=", 1) for value in service.get("Environment", []) for v in value.split())
    for f in (f for f in fields(Settings) if f.name in WRITTEN_DIRS):
        env = f.metadata["env"]
        folder = PurePosixPath(overridden.get(env, str(f.default)))
        folder = folder if folder.is_absolute() else workdir / folder
        assert any(folder == w or w in folder.parents for w in writable), f"{env} ({folder}) is not in ReadWritePaths"


def test_every_setting_the_unit_names_exists() -> None:
    named = set(re.findall(r"\b(?:STORYBOT_[A-Z0-9_]+|DISCORD_TOKEN)\b", UNIT.read_text(encoding="utf-8")))
    assert named, "the unit names the settings whose folders it makes writable"
    assert named <= known_variables(), f"not settings of bot/settings.py: {sorted(named - known_variables())}"


def test_it_stops_with_sigterm_and_waits_longer_than_the_shutdown_grace(service: dict[str, list[str]]) -> None:
    """storybot exits 0 on SIGTERM (tests/test_bot_e2e_process.py) after answering the questions it
    took, for up to `shutdown_grace` seconds; systemd must not SIGKILL it before then."""
    from bot.client import StorybotBot

    assert one(service, "KillSignal") == "SIGTERM"
    assert float(one(service, "TimeoutStopSec")) > StorybotBot.shutdown_grace
    assert one(service, "Restart") == "on-failure"
    assert "2" in one(service, "RestartPreventExitStatus").split()  # bot.runner: 2 = no DISCORD_TOKEN


def test_it_runs_unprivileged(service: dict[str, list[str]]) -> None:
    assert one(service, "User") not in ("", "root", "0")
    assert one(service, "NoNewPrivileges") == "yes"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_accepts_it(tmp_path: Path) -> None:
    """Verified as installed under a stand-in folder, since verify checks that ExecStart exists."""
    text = UNIT.read_text(encoding="utf-8")
    workdir = one(parse_unit(text)["Service"], "WorkingDirectory")
    root = tmp_path / "install"
    program = root / ".venv" / "bin" / "storybot"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n", encoding="utf-8")
    program.chmod(0o755)
    unit = tmp_path / "storybot.service"
    unit.write_text(text.replace(workdir, str(root)), encoding="utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
