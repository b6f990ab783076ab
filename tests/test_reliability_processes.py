"""Process-level faults: `storybot run` killed with SIGKILL during /reindex, the records killed
mid-write, SIGTERM (with questions in flight), a broken index and bad settings at start-up.

(SIGKILL during `storybot index build` is in test_crash_safety.py; a clean SIGTERM after one
/ask is in test_bot_e2e_process.py, extended here with the database and gateway checks.)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot import render
from bot.records import DB_NAME, Records
from index import Engine, EngineConfig
from index.store.generations import BUILD_PREFIX, current_generation
from tests.doubles import EngineDouble
from tests.e2e import INSULT_Q, assert_sane, eventually
from tests.fake_discord import DefaultIds, FakeDiscord
from tests.helpers import REPO
from tests.reliability_fixtures import (
    SLOW,
    BotProcess,
    mention,
    outcome_of,
    process_env,
    reply_to,
    run_cli,
    without_root_file_access,
)

PANDA_STORY = (
    "---\ntitle: The city zoo welcomes a giant panda\n---\nThe city zoo named its new giant panda Bao Bao on Tuesday.\n"
)

STALL_WRITING = """
import sys, time
import index.store.build
def _stalled_write(build_dir, **kwargs):
    (build_dir / "meta.json").write_bytes(b'{"stories": [')  # half a file, as a crash leaves it
    print("TEST-HOOK: writing the new generation", file=sys.stderr, flush=True)
    time.sleep(600)
index.store.build.write_generation = _stalled_write
"""
"""Test-only fault injection, run in the child before `storybot run`: the rebuild stalls mid-write."""


def big_story(lines: int) -> str:
    """A story long enough that embedding it takes the real model a while."""
    body = "\n".join(
        f"In ward {i}, the council heard that bridge number {i * 7} needs {i % 13 + 2} new girders "
        f"before the {i % 4 + 1}th winter. "
        f"Engineers from firm {i % 31} said repairs would cost {i * 3 + 10} thousand dollars."
        for i in range(lines)
    )
    return f"---\ntitle: Bridge repairs across the wards\n---\n{body}\n"


def workdir_with_index(tmp_path: Path, config: EngineConfig) -> Path:
    """A self-hoster's folder: corpus/, a built index/ (copied), no data/ yet."""
    shutil.copytree(config.corpus_dir, tmp_path / "corpus")
    shutil.copytree(config.index_dir, tmp_path / "index")
    return tmp_path


def leftovers(index_dir: Path) -> list[Path]:
    return [p for p in index_dir.iterdir() if p.name.startswith(BUILD_PREFIX)]


@pytest.mark.parametrize("stage", ["writing", pytest.param("embedding", marks=[pytest.mark.slow, SLOW])])
async def test_sigkill_during_reindex_keeps_the_old_index_and_sigterm_closes_cleanly(
    stage: str,
    fake_discord: FakeDiscord,
    engine_config: EngineConfig,
    embedder: Any,
    tmp_path: Path,
) -> None:
    fake = fake_discord
    workdir = workdir_with_index(tmp_path, engine_config)
    env = process_env(fake, workdir)
    before = current_generation(workdir / "index")

    # 1. The bot runs, a story is added, an admin asks for /reindex, and the process is killed mid-rebuild.
    first = await BotProcess.start(env, workdir, hook=STALL_WRITING if stage == "writing" else "")
    try:
        await first.wait_ready(fake)
        if stage == "writing":
            (workdir / "corpus" / "panda.txt").write_text(PANDA_STORY, encoding="utf-8")
        else:
            (workdir / "corpus" / "bridges.txt").write_text(big_story(1500), encoding="utf-8")
        reindex = await fake.slash_command("reindex", user_id=DefaultIds.admin)
        assert (await reindex.wait_response())["data"]["content"] == render.REINDEX_STARTED_TEXT
        if stage == "writing":
            await first.wait_for_line("TEST-HOOK: writing the new generation", timeout=60)
        else:
            await first.wait_for_line("Building the index: ", timeout=60)
            await asyncio.sleep(1.0)  # well into embedding 3,000 sentences
        assert await first.kill() == -9
    finally:
        await first.ensure_stopped()
    assert "Reindexed" not in first.log, first.log  # killed before the rebuild finished
    assert current_generation(workdir / "index") == before
    partial = leftovers(workdir / "index")
    assert len(partial) == (1 if stage == "writing" else 0)

    # 2. The old index is intact: it loads and answers (in this process, with the same model)...
    for added in ("panda.txt", "bridges.txt"):
        (workdir / "corpus" / added).unlink(missing_ok=True)  # back to the corpus the old index was built from
    config = EngineConfig(corpus_dir=workdir / "corpus", index_dir=workdir / "index")
    old = Engine.open(config, build="never", embedder=embedder)
    assert old.data.path == before and old.answer(INSULT_Q).answered

    # 3. ...and a fresh bot process serves it without rebuilding; its next build removes the leftover.
    second = await BotProcess.start(env, workdir)
    try:
        await second.wait_ready(fake)
        assert "Building the index" not in second.log
        answer = await (await fake.slash_command("ask", {"question": INSULT_Q})).final_message(timeout=20)
        assert outcome_of(answer) == "answered"
        assert leftovers(workdir / "index") == partial  # nothing is cleaned before a build holds the lock

        reindex = await fake.slash_command("reindex", user_id=DefaultIds.admin)
        report = await reindex.wait_followup(timeout=120)
        assert report["content"].startswith("Rebuilt the index: 1 stories"), report["content"]
        assert not leftovers(workdir / "index")
        assert current_generation(workdir / "index") != before

        # A library exception that carries the token (an error body echoing it) is logged redacted.
        await _library_error_with_the_token(fake)

        # 4. SIGTERM: gateway closed by the bot, database closed, exit 0.
        asked_before_exit = await mention(fake, INSULT_Q, author=DefaultIds.admin)
        assert outcome_of(await reply_to(fake, int(asked_before_exit["id"]), timeout=20)) == "answered"
        await asyncio.sleep(0.3)  # the record is written in the background
        code = await second.terminate()
    finally:
        await second.ensure_stopped()
    assert code == 0, second.log
    assert "Received SIGTERM" in second.log and "Traceback" not in first.log, second.log
    assert second.log.count("Traceback") == 1  # only the 400 injected above, logged with its traceback
    assert fake.token not in first.log + second.log
    last = fake.connections[-1]
    assert last["closed"] is not None and last["closed_by"] == "client" and last["close_code"] == 1000, fake.connections
    data = workdir / "data"
    assert (
        not (data / f"{DB_NAME}-wal").exists() or (data / f"{DB_NAME}-wal").stat().st_size == 0
    )  # checkpointed on close
    with sqlite3.connect(data / DB_NAME) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT COUNT(*) FROM questions").fetchone()[0] == 3
    assert fake.token.encode() not in b"".join(p.read_bytes() for p in data.iterdir() if p.is_file())
    assert_sane(fake)


async def _library_error_with_the_token(fake: FakeDiscord) -> None:
    """Discord answers the bot's reply with a 400 whose message holds the token (as if echoed back):
    discord.py raises it, the bot logs the traceback and apologises; the process log is checked later."""
    import tests.fake_discord.rest as rest

    original = rest.error_payload

    def echoing(code: int, message: str, errors: Any = None) -> dict[str, Any]:
        return original(code, f"{message} (Authorization: Bot {fake.token})", errors)

    rest.error_payload = echoing  # type: ignore[assignment]
    try:
        fake.fail_next("POST /channels/", status=400)
        asked = await mention(fake, INSULT_Q, author=DefaultIds.owner)
        reply = await reply_to(fake, int(asked["id"]), timeout=20)
    finally:
        rest.error_payload = original
    assert outcome_of(reply) == "apology"
    assert fake.token not in json.dumps(fake.messages, default=str)


async def test_shutdown_answers_the_questions_it_already_took_and_turns_new_ones_away(
    fake_discord: FakeDiscord,
    engine: Engine,
    engine_config: EngineConfig,
    tmp_path: Path,
) -> None:
    """What SIGTERM runs (`bot.close()`) while two questions are being answered: both answers go
    out before the session closes (within `shutdown_grace`); questions arriving meanwhile are told
    to ask again; the gateway is closed with 1000 (the session ends, the bot shows offline)."""
    from tests.bot_fixtures import bot_settings, storybot_running

    fake = fake_discord
    held = EngineDouble(engine)  # answers wait while `hold` is clear
    async with storybot_running(fake, bot_settings(fake, tmp_path / "data", engine_config), lambda: held) as bot:  # type: ignore[arg-type, return-value]
        held.hold.clear()
        slash = await fake.slash_command("ask", {"question": INSULT_Q})
        assert (await slash.wait_response())["type"] == 5
        asked = await mention(fake, INSULT_Q, author=DefaultIds.admin)
        await eventually(held.waiting.is_set)

        closing = asyncio.create_task(bot.close())
        await eventually(lambda: bot.service.closing)
        late = await fake.slash_command("ask", {"question": INSULT_Q}, user_id=DefaultIds.owner)
        refusal = await late.wait_response()
        assert (
            refusal["type"] == 4
            and refusal["data"]["content"] == render.SHUTTING_DOWN_TEXT
            and refusal["data"]["flags"] & 64
        )
        late_mention = await mention(fake, INSULT_Q, author=DefaultIds.owner)
        assert (await reply_to(fake, int(late_mention["id"])))["content"] == render.SHUTTING_DOWN_TEXT
        assert not closing.done()

        held.hold.set()
        await asyncio.wait_for(closing, 15)
        assert outcome_of(await slash.final_message()) == "answered"
        assert outcome_of(await reply_to(fake, int(asked["id"]))) == "answered"
        last = fake.connections[-1]
        assert last["closed_by"] == "client" and last["close_code"] == 1000
        assert_sane(fake)


# -- the records killed mid-write -------------------------------------------------------------

WRITE_RECORDS = r"""
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from bot.records import Records
from index.types import Answer, Quote

records = Records.open(Path(sys.argv[1]))
i = 0
while True:
    quotes = tuple(Quote(f"quote {r} of {i}", "Story", "s.txt", r + 1, 0, 10, 0.5, None) for r in range(3))
    answer = Answer(f"question {i} 'quoted'; DROP TABLE votes; --", quotes, 0.7, 0.4, "abc", 0.01)
    records.record_answer(answer_id=f"{i:012x}", user_id=1000 + i % 7, via="slash", answer=answer, latency=0.01)
    records.record_vote(answer_id=f"{i:012x}", user_id=2000 + i % 5, up=i % 3 != 0)
    print(i, flush=True)
    i += 1
"""


def test_sigkill_while_writing_feedback_leaves_a_consistent_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    child = subprocess.Popen(
        [sys.executable, "-c", WRITE_RECORDS, str(data), str(REPO)], stdout=subprocess.PIPE, text=True
    )
    last = -1
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + 60
        while last < 300 and time.monotonic() < deadline:
            last = int(child.stdout.readline())
        child.kill()
    finally:
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -9 and last >= 300

    with sqlite3.connect(data / DB_NAME) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert not db.execute("PRAGMA foreign_key_check").fetchall()
        questions = db.execute("SELECT COUNT(*) FROM questions").fetchone()[0]
        votes = db.execute("SELECT COUNT(*) FROM votes").fetchone()[0]
        per_question = {n for (n,) in db.execute("SELECT COUNT(*) FROM quotes GROUP BY question_id")}
        orphans = db.execute(
            "SELECT COUNT(*) FROM quotes WHERE question_id NOT IN (SELECT id FROM questions)"
        ).fetchone()[0]
    assert questions >= last + 1  # everything reported as written survived the kill
    assert votes in (questions - 1, questions)  # the kill may fall between a question and its vote
    assert per_question == {3} and not orphans  # a question and its quotes are written together or not at all

    records = Records.open(data)  # and storybot opens it as usual, and goes on writing
    try:
        stats = records.stats()
        assert stats.questions == questions and stats.votes_up + stats.votes_down == votes
        assert records.record_vote(answer_id="ffffffffffff", user_id=1, up=True) == "new"
    finally:
        records.close()


# -- a broken index at start-up ----------------------------------------------------------------


def _rewrite_manifest(generation: Path, change: Any) -> None:
    path = generation / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def _fewer_paragraph_vectors(generation: Path) -> None:
    """paragraphs.npy loses a row and the manifest's checksum is updated: the files disagree in count."""
    path = generation / "paragraphs.npy"
    vectors = np.load(path, allow_pickle=False)
    np.save(path, vectors[:-1], allow_pickle=False)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    _rewrite_manifest(generation, lambda m: m["files"].__setitem__("paragraphs.npy", digest))


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


BROKEN_INDEXES: dict[str, tuple[Any, str]] = {
    "truncated": (lambda gen: _truncate(gen / "sentences.faiss"), "sentences.faiss: checksum mismatch"),
    "corrupted": (lambda gen: _flip_byte(gen / "paragraphs.npy"), "paragraphs.npy: checksum mismatch"),
    "wrong-version": (
        lambda gen: _rewrite_manifest(gen, lambda m: m.__setitem__("format_version", 99)),
        "index format 99",
    ),
    "missing-manifest": (lambda gen: (gen / "manifest.json").unlink(), "manifest missing"),
    "count-mismatch": (_fewer_paragraph_vectors, "paragraph vectors for"),
    "missing-file": (lambda gen: (gen / "meta.json").unlink(), "meta.json: missing"),
    "bad-current": (lambda gen: (gen.parent / "CURRENT").write_text("../../etc\n"), "does not name a generation"),
}


async def test_storybot_run_with_a_broken_index_says_so_in_one_line(
    fake_discord: FakeDiscord,
    engine_config: EngineConfig,
    tmp_path: Path,
) -> None:
    fake = fake_discord

    async def attempt(kind: str) -> tuple[str, int, str]:
        damage, _ = BROKEN_INDEXES[kind]
        workdir = workdir_with_index(tmp_path / kind, engine_config)
        damage(current_generation(workdir / "index"))
        process = await BotProcess.start(process_env(fake, workdir), workdir)
        try:
            code = await process.wait(timeout=120)
        finally:
            await process.ensure_stopped()
        return kind, code, process.log

    results = await asyncio.gather(*(attempt(kind) for kind in BROKEN_INDEXES))
    for kind, code, log in results:
        expected = BROKEN_INDEXES[kind][1]
        errors = [line for line in log.splitlines() if line.startswith("storybot:")]
        assert code == 1, f"{kind}: exit {code}\n{log}"
        assert len(errors) == 1 and expected in errors[0] and "storybot index build" in errors[0], f"{kind}:\n{log}"
        assert log.rstrip().endswith(errors[0]), f"{kind}: the error is not the last line\n{log}"
        assert "Traceback" not in log and " ERROR " not in log, f"{kind}:\n{log}"
        assert fake.token not in log
    assert fake.connection_count == 0  # refused before ever connecting to the gateway


async def test_a_rebuild_that_writes_a_broken_index_is_refused_and_the_old_one_serves(
    fake_discord: FakeDiscord,
    own_engine_config: EngineConfig,
    embedder: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The index files on disk are damaged while the bot serves, and the rebuild writes a damaged
    generation (a bad disk): the rebuild is refused with a reason, the bot keeps answering from
    the index it loaded, and a later rebuild heals the folder."""
    import index.store.build
    from tests.bot_fixtures import bot_settings, storybot_running

    fake = fake_discord
    config = own_engine_config
    settings = bot_settings(fake, tmp_path / "data", config)
    write = index.store.build.write_generation

    def damaged_write(build_dir: Path, **kwargs: Any) -> None:
        write(build_dir, **kwargs)
        _truncate(build_dir / "sentences.faiss")

    async with storybot_running(fake, settings, lambda: Engine.open(config, build="never", embedder=embedder)) as bot:
        serving = bot.engine
        _flip_byte(current_generation(config.index_dir) / "paragraphs.npy")  # the loaded index's files rot on disk
        (config.corpus_dir / "panda.txt").write_text(PANDA_STORY, encoding="utf-8")
        monkeypatch.setattr(index.store.build, "write_generation", damaged_write)
        reindex = await fake.slash_command("reindex", user_id=DefaultIds.admin)
        report = await reindex.wait_followup(timeout=120)
        assert report["content"].startswith("The rebuild failed, so I keep answering from the previous index")
        assert "sentences.faiss" in report["content"] and "checksum mismatch" in report["content"]
        assert bot.engine is serving and not leftovers(config.index_dir)
        answer = await (await fake.slash_command("ask", {"question": INSULT_Q})).final_message(timeout=10)
        assert outcome_of(answer) == "answered"

        monkeypatch.setattr(index.store.build, "write_generation", write)
        healed = await (await fake.slash_command("reindex", user_id=DefaultIds.admin)).wait_followup(timeout=120)
        assert healed["content"].startswith("Rebuilt the index: 2 stories")
        panda = await (
            await fake.slash_command("ask", {"question": "What did the zoo name its panda?"})
        ).final_message()
        assert "Bao Bao" in panda["embeds"][0]["description"]
        assert_sane(fake)


# -- bad settings at start-up ------------------------------------------------------------------

BAD_SETTINGS: list[tuple[dict[str, str], str]] = [
    ({"STORYBOT_GUILD_IDS": "my-server"}, "STORYBOT_GUILD_IDS='my-server': 'my-server' is not a Discord id"),
    ({"STORYBOT_ADMIN_USER_IDS": "12345"}, "STORYBOT_ADMIN_USER_IDS='12345': '12345' is not a Discord id"),
    ({"STORYBOT_TOP_K": "0"}, "STORYBOT_TOP_K='0': must be between 1 and 10"),
    ({"STORYBOT_TOP_K": "three"}, "STORYBOT_TOP_K='three': "),
    ({"STORYBOT_COOLDOWN_SECONDS": "nan"}, "STORYBOT_COOLDOWN_SECONDS='nan': must be between"),
    ({"STORYBOT_MAX_IN_FLIGHT": "1e9"}, "STORYBOT_MAX_IN_FLIGHT='1e9': "),
    ({"STORYBOT_LOG_QUESTIONS": "maybe"}, "STORYBOT_LOG_QUESTIONS='maybe': expected true or false"),
    ({"STORYBOT_LOG_LEVEL": "LOUD"}, "STORYBOT_LOG_LEVEL='LOUD': must be DEBUG, INFO, WARNING or ERROR"),
    ({"STORYBOT_DISCORD_API_URL": "discord.com/api"}, "STORYBOT_DISCORD_API_URL='discord.com/api': must start with"),
    ({"STORYBOT_TOPK": "3"}, "STORYBOT_TOPK: unknown setting (did you mean STORYBOT_TOP_K?)"),
]


async def test_bad_settings_stop_run_and_ask_with_one_line_naming_the_setting(tmp_path: Path) -> None:
    token = "not-a-real-token-but-secret"
    slots = asyncio.Semaphore(4)

    async def attempt(
        n: int, command: list[str], values: dict[str, str]
    ) -> tuple[list[str], dict[str, str], int, str, str]:
        workdir = tmp_path / f"{n}"
        workdir.mkdir()
        env = process_env(None, workdir, DISCORD_TOKEN=token, **values)
        async with slots:
            code, out, err = await run_cli(command, workdir, env, timeout=60)
        return command, values, code, out, err

    jobs = [
        attempt(n, command, values)
        for n, (command, (values, _)) in enumerate((c, b) for b in BAD_SETTINGS for c in (["run"], ["ask", "who?"]))
    ]
    expected = {json.dumps(values): message for values, message in BAD_SETTINGS}
    for command, values, code, out, err in await asyncio.gather(*jobs):
        where = f"storybot {' '.join(command)} with {values}"
        assert code == 1, f"{where}: exit {code}\n{err}"
        assert err.splitlines() == [f"storybot: {err.splitlines()[0].removeprefix('storybot: ')}"], f"{where}: {err!r}"
        assert expected[json.dumps(values)] in err, f"{where}: {err!r}"
        assert not out and "Traceback" not in err and token not in err


async def test_an_unusable_corpus_folder_is_named_at_start_up(
    fake_discord: FakeDiscord,
    engine_config: EngineConfig,
    tmp_path: Path,
) -> None:
    """`storybot ask` and `storybot run`: STORYBOT_CORPUS_DIR names a file, nothing, or a folder
    that cannot be read (the index was built earlier, from the right folder)."""
    fake = fake_discord
    workdir_with_index(tmp_path, engine_config)
    (tmp_path / "a-file").write_text("not a folder")
    cases = {
        "a-file": "not a folder (set STORYBOT_CORPUS_DIR",
        "missing": "corpus folder not found (set STORYBOT_CORPUS_DIR)",
    }
    prefix = without_root_file_access()
    if prefix is not None:
        shutil.copytree(tmp_path / "corpus", tmp_path / "locked")
        (tmp_path / "locked").chmod(0)
        cases["locked"] = (
            "cannot read the corpus folder (Permission denied); check its permissions or STORYBOT_CORPUS_DIR"
        )

    async def ask(name: str) -> tuple[str, int, str]:
        env = process_env(None, tmp_path, STORYBOT_CORPUS_DIR=str(tmp_path / name))
        code, _, err = await run_cli(["ask", "who?"], tmp_path, env, prefix=prefix or ())
        return name, code, err

    async def run(name: str) -> tuple[str, int, str]:
        env = process_env(fake, tmp_path, STORYBOT_CORPUS_DIR=str(tmp_path / name))
        process = await BotProcess.start(env, tmp_path, prefix=prefix or ())
        try:
            code = await process.wait(timeout=120)
        finally:
            await process.ensure_stopped()
        return name, code, process.log

    try:
        results = await asyncio.gather(*(ask(name) for name in cases), *(run(name) for name in cases))
    finally:
        if (tmp_path / "locked").exists():
            (tmp_path / "locked").chmod(0o755)
    for name, code, output in results:
        errors = [line for line in output.splitlines() if line.startswith("storybot:")]
        assert code == 1 and len(errors) == 1 and cases[name] in errors[0], f"{name}:\n{output}"
        assert "Traceback" not in output
    assert fake.connection_count == 0
