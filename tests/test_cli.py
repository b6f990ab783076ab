"""The `storybot` command as a user runs it: a real process, real model, real index."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from index import EngineConfig
from tests.helpers import BUNDLED_CORPUS, MODEL_CACHE, unmarked, write_story

STORYBOT = [sys.executable, "-m", "bot.cli"]


@pytest.fixture
def workdir(tmp_path: Path, engine_config: EngineConfig) -> Path:
    """A folder laid out as a self-hoster's, with the index already built (copied)."""
    shutil.copytree(engine_config.corpus_dir, tmp_path / "corpus")
    shutil.copytree(engine_config.index_dir, tmp_path / ".storybot" / "index")
    return tmp_path


def run(
    args: list[str], cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("STORYBOT_") and k != "DISCORD_TOKEN"}
    full_env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    full_env["STORYBOT_MODEL_CACHE_DIR"] = str(MODEL_CACHE)
    full_env.update(env or {})
    return subprocess.run(
        [*STORYBOT, *args], cwd=cwd, input=stdin, capture_output=True, text=True, env=full_env, timeout=300, check=False
    )


def test_ask_prints_the_quote_and_its_citation(workdir: Path) -> None:
    result = run(["ask", "How many people did the NYPD lock up in 2016?"], workdir)
    assert result.returncode == 0, result.stderr
    assert "In 2016 we locked up over 1,000 people in over 100 gang takedowns." in unmarked(result.stdout)
    assert "¶5" in result.stdout
    assert "Traceback" not in result.stderr


def test_ask_says_plainly_when_the_story_does_not_say(workdir: Path) -> None:
    result = run(["ask", "Who won the 2018 World Cup?"], workdir)
    assert result.returncode == 0
    assert "does not say" in result.stdout


def test_json_contract(workdir: Path) -> None:
    result = run(["ask", "--json", "-k", "2", "Who is the head of the NYPD sergeants union?"], workdir)
    assert result.returncode == 0, result.stderr
    obj = json.loads(result.stdout)
    assert set(obj) >= {"question", "answered", "confidence", "threshold", "quotes"}
    assert obj["answered"] == (obj["confidence"] >= obj["threshold"])
    assert 1 <= len(obj["quotes"]) <= 2
    paragraphs = (BUNDLED_CORPUS / "000_4b5094cc93f72285.txt").read_text(encoding="utf-8").split("---\n", 2)[2]
    lines = [line.strip() for line in paragraphs.splitlines() if line.strip()]
    for quote in obj["quotes"]:
        assert set(quote) >= {"text", "story", "file", "paragraph", "start", "end", "score"}
        assert quote["file"] == "000_4b5094cc93f72285.txt"
        assert lines[quote["paragraph"] - 1][quote["start"] : quote["end"]] == quote["text"]
    assert obj["quotes"][0]["paragraph"] == 12


def test_json_stream_answers_each_line_in_order_and_survives_bad_lines(workdir: Path) -> None:
    stdin = "What did Preet Bharara tweet?\n\n" + "x" * 600 + "\nWho won the 2018 World Cup?\n"
    result = run(["ask", "--json", "-"], workdir, stdin=stdin)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 4
    assert rows[0]["answered"] and rows[0]["quotes"][0]["paragraph"] == 9
    assert rows[1]["answered"] is False and "empty" in rows[1]["error"]
    assert rows[2]["answered"] is False and "characters" in rows[2]["error"]
    assert rows[3]["answered"] is False and rows[3]["quotes"]


@pytest.mark.parametrize(("question", "message"), [("   ", "empty"), ("y" * 501, "characters long")])
def test_a_question_that_cannot_be_asked_exits_2_with_one_line(workdir: Path, question: str, message: str) -> None:
    result = run(["ask", question], workdir)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_corpus_exits_1_with_one_line(tmp_path: Path) -> None:
    result = run(["ask", "anything?"], tmp_path)
    assert result.returncode == 1
    assert "corpus folder not found" in result.stderr and "Traceback" not in result.stderr


def test_broken_index_exits_1_naming_the_fix(workdir: Path) -> None:
    generation = next((workdir / ".storybot" / "index").glob("gen-*"))
    (generation / "meta.json").write_text("{}")
    result = run(["ask", "anything?"], workdir)
    assert result.returncode == 1
    assert "checksum mismatch" in result.stderr and "storybot index build" in result.stderr


def test_unknown_setting_is_named(workdir: Path) -> None:
    result = run(["ask", "x?"], workdir, env={"STORYBOT_TOPK": "3"})
    assert result.returncode == 1
    assert "STORYBOT_TOPK: unknown setting (did you mean STORYBOT_TOP_K?)" in result.stderr


def test_build_then_info_then_stale_then_ask_rebuilds(workdir: Path) -> None:
    built = run(["index", "build"], workdir)
    assert built.returncode == 0, built.stderr
    assert "Indexed 1 stories, 14 paragraphs" in built.stdout
    info = run(["index", "info", "--json"], workdir)
    assert json.loads(info.stdout)["stale"] is False
    write_story(
        workdir / "corpus",
        "bridge.txt",
        "The Harlem bridge will close for repairs in May 2018.\n",
        title="Bridge repairs",
    )
    assert json.loads(run(["index", "info", "--json"], workdir).stdout)["stale"] is True
    result = run(["ask", "--json", "When will the Harlem bridge close?"], workdir)
    assert json.loads(result.stdout)["quotes"][0]["file"] == "bridge.txt"
    assert json.loads(run(["index", "info", "--json"], workdir).stdout)["stale"] is False
