"""`storybot story ...` and `storybot ask --guild` as a host runs them: real processes, the real model."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from index import EngineConfig
from tests.test_cli import run

GUILD = "811111111111111111"
PANDA_Q = "What did the zoo name its new panda?"
PANDA = (
    "---\ntitle: The city zoo welcomes a giant panda\n---\n"
    "The city zoo named its new giant panda Bao Bao on Tuesday, after a vote by local schoolchildren.\n\n"
    "Keepers said the panda eats about forty kilograms of bamboo a day.\n"
)
PAGE = b"""<!doctype html><html><head><title>Harbour bridge reopens | Daily Example</title></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav><article><h1>Harbour bridge reopens</h1>
<p>The harbour bridge reopened to traffic on Saturday after eleven weeks of repairs to its steel cables.</p>
<p>Engineers replaced forty-two cables that had corroded in the salt air, at a cost of 3.4 million euros.</p>
</article><footer>Copyright Daily Example</footer></body></html>"""


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def json_lines(args: list[str], cwd: Path) -> list[dict[str, Any]]:
    result = run(args, cwd)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line]


@pytest.fixture
def workdir(tmp_path: Path, engine_config: EngineConfig) -> Path:
    shutil.copytree(engine_config.corpus_dir, tmp_path / "corpus")
    shutil.copytree(engine_config.index_dir, tmp_path / ".storybot" / "index")
    (tmp_path / "panda.md").write_text(PANDA, encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    return tmp_path


def test_story_commands_manage_a_servers_stories_and_ask_guild_answers_as_it(workdir: Path, site: str) -> None:
    shared_files = sorted(p.name for p in (workdir / "corpus").iterdir())

    refused = run(["story", "add", "empty.txt", "--guild", GUILD], workdir)
    assert refused.returncode == 1 and refused.stderr.strip() == "storybot: empty.txt: the file is empty"
    not_a_guild = run(["story", "add", "panda.md", "--guild", "../12"], workdir)
    assert not_a_guild.returncode == 1 and "is not a server id" in not_a_guild.stderr
    assert not (workdir / "corpus" / "guilds").exists() and "Traceback" not in refused.stderr + not_a_guild.stderr

    added = run(["story", "add", "panda.md", "--guild", GUILD], workdir)
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith(f"Added “The city zoo welcomes a giant panda” to server {GUILD}'s stories: 2 ")
    assert f"guilds/{GUILD}/the-city-zoo-welcomes-a-giant-panda.txt" in added.stdout

    listed = json_lines(["story", "list", "--guild", GUILD, "--json"], workdir)
    assert sorted(row["scope"] for row in listed) == [GUILD, "shared"]
    assert [row["title"] for row in listed if row["scope"] == GUILD] == ["The city zoo welcomes a giant panda"]
    assert [row["scope"] for row in json_lines(["story", "list", "--json"], workdir)] == ["shared"]

    here = json.loads(run(["ask", "--json", "--guild", GUILD, PANDA_Q], workdir).stdout)
    assert here["outcome"] == "answered" and "Bao Bao" in here["quotes"][0]["text"]
    assert here["quotes"][0]["file"].startswith(f"guilds/{GUILD}/")

    linked = run(
        ["story", "add", f"{site}/news/bridge", "--title", "Bridge reopens"],
        workdir,
        env={"STORYBOT_FETCH_ALLOW_LOOPBACK": "true"},
    )
    assert linked.returncode == 0, linked.stderr
    assert linked.stdout.startswith("Added “Bridge reopens” to the shared stories: 2 paragraphs.")
    bridge = next(row for row in json_lines(["story", "list", "--json"], workdir) if row["title"] == "Bridge reopens")
    assert bridge["file"] == "bridge-reopens.txt" and bridge["source"] == f"{site}/news/bridge"
    assert bridge["paragraphs"] == 2 and bridge["scope"] == "shared"
    assert "forty-two cables" in (workdir / "corpus" / "bridge-reopens.txt").read_text(encoding="utf-8")

    removed = run(["story", "remove", "the city zoo welcomes a giant panda", "--guild", GUILD], workdir)
    assert removed.returncode == 0 and removed.stdout.startswith("Removed “The city zoo welcomes a giant panda”")
    assert sorted(p.name for p in (workdir / "corpus").iterdir()) == sorted([*shared_files, "bridge-reopens.txt"])

    log = json_lines(["story", "log", "--json"], workdir)
    assert [(r["action"], r["scope"]) for r in log] == [("remove", GUILD), ("add", "shared"), ("add", GUILD)]
    assert all(r["who"].startswith("shell:") and len(r["content_hash"]) == 64 for r in log)
    readable = run(["story", "log", "--guild", GUILD], workdir).stdout
    assert readable.count("server 811111111111111111") == 2 and "from panda.md" in readable
