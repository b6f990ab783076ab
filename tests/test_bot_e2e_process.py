"""End to end: the real `storybot run` code path in its own process, against the fake Discord.

It builds the missing index before connecting (saying so in the log), answers /ask, and exits
0 on SIGTERM; the token never appears in its output.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from pathlib import Path

import pytest

from tests.e2e import INSULT_Q, assert_sane
from tests.fake_discord import DefaultIds, FakeDiscord
from tests.helpers import BUNDLED_CORPUS, REPO

pytestmark = pytest.mark.model  # `storybot run` loads the model (and builds the index) in its process

RUN = (
    "import sys; from bot.settings import load_settings; from bot.runner import run_bot; "
    "sys.exit(run_bot(load_settings()))"
)


async def test_storybot_run_builds_answers_and_stops_on_sigterm(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    fake = fake_discord
    shutil.copytree(BUNDLED_CORPUS, tmp_path / "corpus")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(REPO),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "DISCORD_TOKEN": fake.token,
        "STORYBOT_DISCORD_API_URL": f"{fake.base_url}/api/v10",
        "STORYBOT_DISCORD_GATEWAY_URL": fake.gateway_url,
        "STORYBOT_GUILD_IDS": str(DefaultIds.guild),
        "STORYBOT_CORPUS_DIR": str(tmp_path / "corpus"),
        "STORYBOT_INDEX_DIR": str(tmp_path / "index"),  # missing: built before connecting
        "STORYBOT_DATA_DIR": str(tmp_path / "data"),
        "STORYBOT_MODEL_CACHE_DIR": str(tmp_path / "models"),  # empty: the first start makes the ONNX copy
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", RUN, cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    output = asyncio.create_task(process.stderr.read())
    try:
        ready = asyncio.create_task(fake.wait_until_ready(timeout=240))
        exited = asyncio.create_task(process.wait())
        await asyncio.wait({ready, exited}, return_when=asyncio.FIRST_COMPLETED)
        if exited.done():
            ready.cancel()
            raise AssertionError(f"storybot run exited with {exited.result()}:\n{(await output).decode()}")
        exited.cancel()
        await ready
        message = await (await fake.slash_command("ask", {"question": INSULT_Q})).final_message(timeout=10)
        assert message["embeds"][0]["title"] == INSULT_Q
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = (await output).decode()
    assert code == 0, log
    assert (tmp_path / "index").is_dir() and (tmp_path / "data" / "records.sqlite3").is_file()
    assert list((tmp_path / "models").glob("onnx-*/export.json")), "the first start saves the ONNX copy of the model"
    assert log.index("Built 1 stories") < log.index("Ready to answer") < log.index("has connected to Gateway"), log
    assert "Received SIGTERM" in log and "Traceback" not in log
    assert fake.token not in log
    assert_sane(fake)
