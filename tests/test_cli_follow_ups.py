"""`storybot ask` as a user runs it: outcomes in readable and JSON output, follow-up lines, malformed lines."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from index import UNSURE, Engine, EngineConfig
from tests.helpers import MODEL_CACHE, REPO, unmarked

MULLINS_Q, ICE_Q = "who is ed mullins", "what did he say about ICE"


@pytest.fixture
def workdir(tmp_path: Path, engine_config: EngineConfig) -> Path:
    shutil.copytree(engine_config.corpus_dir, tmp_path / "corpus")
    shutil.copytree(engine_config.index_dir, tmp_path / ".storybot" / "index")
    return tmp_path


def storybot(args: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYBOT_") and k != "DISCORD_TOKEN"}
    env.update(PYTHONPATH=str(REPO), STORYBOT_MODEL_CACHE_DIR=str(MODEL_CACHE))
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], cwd=cwd, input=stdin, capture_output=True, text=True, env=env,
        timeout=300, check=False,
    )  # fmt: skip


def test_json_stream_answers_history_lines_as_follow_ups_and_reports_bad_ones(workdir: Path, engine: Engine) -> None:
    expected = engine.answer(ICE_Q, history=[MULLINS_Q])
    lines = [
        MULLINS_Q,
        json.dumps({"question": ICE_Q, "history": [MULLINS_Q]}),
        '{"question": "what did he say about ICE", "history": [',  # malformed JSON
        json.dumps({"question": ICE_Q, "history": "who is ed mullins"}),  # history is not a list
        json.dumps({"question": "   "}),
        ICE_Q,  # a plain line stays a question on its own
    ]
    result = storybot(["ask", "--json", "-"], workdir, stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == len(lines)
    assert all("outcome" in row for row in rows)

    plain, follow, malformed, bad_history, empty, alone = rows
    assert plain["outcome"] == "answered" and "history" not in plain
    assert follow["history"] == [MULLINS_Q] and follow["outcome"] == expected.outcome
    assert follow["quotes"][0]["paragraph"] == 14 == expected.quotes[0].paragraph
    assert [q["paragraph"] for q in follow["quotes"]] == [q.paragraph for q in expected.quotes]
    assert malformed["outcome"] is None and malformed["answered"] is False
    assert "not a valid JSON object" in malformed["error"] and malformed["question"] == lines[2]
    assert bad_history["outcome"] is None and '"history"' in bad_history["error"]
    assert empty["outcome"] is None and "empty" in empty["error"]
    assert alone["question"] == ICE_Q and "history" not in alone and alone["outcome"] in ("answered", "unsure")


def test_readable_output_says_the_outcome_and_ends_with_one_sources_list(workdir: Path, engine: Engine) -> None:
    answered = storybot(["ask", "How many people did the NYPD lock up in 2016?"], workdir)
    assert answered.returncode == 0, answered.stderr
    out = answered.stdout
    assert out.splitlines()[1] == "Outcome: answered"
    assert "“In 2016 we locked up over 1,000 people in over 100 gang takedowns.”  ¶5" in unmarked(out)
    assert out.count("Sources:") == 1 and out.rstrip().splitlines()[-1].endswith("¶5")

    unsure = next(
        q
        for q in ("where does the message not seem to have reached", "what happened")
        if engine.answer(q).outcome == UNSURE
    )
    shown = storybot(["ask", unsure], workdir).stdout
    assert "Outcome: unsure. The story may not answer this exactly" in shown and "Sources:" in shown

    missing = storybot(["ask", "Who won the 2018 World Cup?"], workdir).stdout
    assert "Outcome: not in the story" in missing and "does not say" in missing and "Sources:" not in missing

    stream = storybot(
        ["ask", "-"], workdir, stdin=json.dumps({"question": ICE_Q, "history": [MULLINS_Q]}) + "\n{oops\n"
    )
    assert stream.returncode == 0 and "Traceback" not in stream.stderr
    assert f"Q: {ICE_Q}\nOutcome: answered" in stream.stdout and "¶14" in stream.stdout
    assert "storybot: not a valid JSON object" in stream.stdout


def test_questions_on_empty_records(tmp_path: Path) -> None:
    result = storybot(["questions"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "No questions recorded."
