"""End to end: each server its own stories, managed with /story add, list and remove.

The real bot against the fake Discord, with two servers: what server A's admin adds is answered in
A and nowhere else; a plain member is refused; an update replaces the old text and its answers; a
removal makes it unanswerable; every bad input is refused with its reason and writes nothing;
heartbeats keep their rhythm through the rebuilds. Stories come as uploads (served by the fake's
CDN) and as links to an aiohttp server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot import render
from bot.records import Records
from bot.service import STORY_CHANGED_TEXT
from index import Engine, EngineConfig
from index.errors import IndexStoreError
from tests.bot_fixtures import bot_settings, storybot_running
from tests.e2e import INSULT_Q, assert_sane, show_ids
from tests.fake_discord import DefaultIds, FakeDiscord, Upload
from tests.helpers import REPO, unmarked

PDFS = REPO / "tests" / "data" / "pdfs"
PANDA_Q = "What did the zoo name its new panda?"
BRIDGE_Q = "How many cables did the engineers replace on the harbour bridge?"
PANDA_TITLE = "The city zoo welcomes a giant panda"


def panda_story(name: str) -> bytes:
    return (
        f"---\ntitle: {PANDA_TITLE}\n---\n"
        f"The city zoo named its new giant panda {name} on Tuesday, after a vote by local schoolchildren.\n\n"
        "Keepers said the panda eats about forty kilograms of bamboo a day.\n"
    ).encode()


BRIDGE_PAGE = b"""<!doctype html><html><head><title>Harbour bridge reopens after repairs | Daily Example</title>
<meta property="og:title" content="Harbour bridge reopens after repairs">
<meta name="author" content="Sam Writer"><meta property="article:published_time" content="2024-03-02"></head>
<body><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>
<div class="cookie-banner">We use cookies. <button>Accept</button></div>
<article><h1>Harbour bridge reopens after repairs</h1>
<p>The harbour bridge reopened to traffic on Saturday after eleven weeks of repairs to its steel cables, the port
authority said.</p>
<p>Engineers replaced forty-two cables that had corroded in the salt air, at a cost of 3.4 million euros.</p>
<p>Ferry services that had carried commuters during the closure will stop running on Monday.</p></article>
<aside><h3>Related</h3><a href="/tunnel">Tunnel plans delayed</a></aside>
<footer>Copyright Daily Example. <a href="/privacy">Privacy</a></footer></body></html>"""


@asynccontextmanager
async def news_site() -> AsyncIterator[str]:
    """A news site on 127.0.0.1: an article, a front page with no article, and a 404."""

    async def bridge(_: web.Request) -> web.Response:
        return web.Response(body=BRIDGE_PAGE, content_type="text/html", charset="utf-8")

    async def front(_: web.Request) -> web.Response:
        links = "".join(f'<li><a href="/story/{i}">Story number {i}</a></li>' for i in range(30))
        return web.Response(text=f"<html><body><nav><ul>{links}</ul></nav></body></html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/news/bridge", bridge)
    app.router.add_get("/", front)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()


def corpus_files(config: EngineConfig) -> dict[str, bytes]:
    return {p.relative_to(config.corpus_dir).as_posix(): p.read_bytes() for p in config.corpus_dir.rglob("*")
            if p.is_file()}  # fmt: skip


def description(message: dict[str, Any]) -> str:
    return str(message["embeds"][0]["description"]) if message.get("embeds") else str(message.get("content"))


async def ask(fake: FakeDiscord, question: str, **where: Any) -> dict[str, Any]:
    return await (await fake.slash_command("ask", {"question": question}, **where)).final_message(timeout=30)


async def story(fake: FakeDiscord, sub: str, options: dict[str, Any], **where: Any) -> dict[str, Any]:
    """Run /story <sub> and return its last visible message (the deferred answer, or a refusal)."""
    return await (await fake.slash_command(f"story {sub}", options, **where)).final_message(timeout=120)


def open_engine(config: EngineConfig, embedder: Any) -> Engine:
    return Engine.open(config, build="never", embedder=embedder)


async def test_a_server_admin_manages_the_servers_own_stories(
    fake_discord: FakeDiscord,
    own_engine_config: EngineConfig,
    embedder: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = fake_discord
    config = own_engine_config
    b = fake.add_server("News Guild")
    a_admin = {"user_id": DefaultIds.admin, "guild_id": DefaultIds.guild}
    settings = bot_settings(
        fake, tmp_path / "data", config, STORYBOT_SYNC_GLOBAL="true", STORYBOT_FETCH_ALLOW_LOOPBACK="true"
    )
    async with news_site() as site, storybot_running(fake, settings, lambda: open_engine(config, embedder)) as bot:
        library = bot.service.library
        assert library is not None and library.guilds == ()
        started = time.monotonic()
        before = corpus_files(config)

        # A plain member is refused, privately, and nothing is written.
        refused = await story(fake, "add", {"file": Upload(panda_story("Bao Bao"), "panda.md")})
        assert refused["content"] == render.NOT_SERVER_ADMIN_TEXT and refused["flags"] & 64
        # A's admin is a plain member in B; B's admin may not touch the shared stories.
        fake.add_guild_member(b.guild, user_id=DefaultIds.admin)
        elsewhere = await story(fake, "add", {"url": f"{site}/news/bridge"}, user_id=DefaultIds.admin, guild_id=b.guild)
        assert elsewhere["content"] == render.NOT_SERVER_ADMIN_TEXT
        shared = await story(
            fake, "add", {"url": f"{site}/news/bridge", "shared": True}, user_id=b.admin, guild_id=b.guild
        )
        assert shared["content"] == render.NOT_SHARED_ADMIN_TEXT
        assert corpus_files(config) == before and library.guilds == ()

        # A's admin adds a story from a file: it is answered in A, and not in B or in DMs.
        added = await story(fake, "add", {"file": Upload(panda_story("Bao Bao"), "panda.md")}, **a_admin)
        fields = {f["name"]: f["value"] for f in added["embeds"][0]["fields"]}
        assert added["flags"] & 64 and added["embeds"][0]["title"] == f"Added: {PANDA_TITLE}"
        assert "this server's stories" in description(added) and fields["Paragraphs"] == "2"
        assert fields["From"] == "panda.md" and fields["Stored as"].startswith(f"`guilds/{DefaultIds.guild}/")
        stored = config.corpus_dir / "guilds" / str(DefaultIds.guild) / "the-city-zoo-welcomes-a-giant-panda.txt"
        assert stored.is_file() and library.guilds == (DefaultIds.guild,)
        own = library.own_engine(DefaultIds.guild)
        assert own is not None and own.embedder is library.shared.embedder and own.scorer is library.shared.scorer

        in_a = await ask(fake, PANDA_Q)
        assert "Bao Bao" in description(in_a)
        assert "Bao Bao" not in description(await ask(fake, PANDA_Q, user_id=b.member, guild_id=b.guild))
        assert "Bao Bao" not in description(await ask(fake, PANDA_Q, dm=True))
        assert INSULT_Q in (await ask(fake, INSULT_Q, user_id=b.member, guild_id=b.guild))["embeds"][0]["title"]

        listed_a = await story(fake, "list", {})
        assert "This server's stories" in description(listed_a) and "giant panda" in description(listed_a)
        listed_b = await story(fake, "list", {}, user_id=b.member, guild_id=b.guild)
        assert "panda" not in description(listed_b) and "insult" in description(listed_b)
        choices = await (await fake.autocomplete("story remove", {"name": "zoo"}, focused="name", **a_admin)).choices()
        assert choices == [{"name": PANDA_TITLE, "value": PANDA_TITLE}]
        assert (
            await (
                await fake.autocomplete("story remove", {"name": ""}, focused="name", user_id=b.admin, guild_id=b.guild)
            ).choices()
            == []
        )

        # A link on a loopback server: the article's text, not the navigation or the footer.
        linked = await story(fake, "add", {"url": f"{site}/news/bridge"}, **a_admin)
        link_fields = {f["name"]: f["value"] for f in linked["embeds"][0]["fields"]}
        assert linked["embeds"][0]["title"] == "Added: Harbour bridge reopens after repairs"
        assert link_fields["Paragraphs"] == "3" and f"{site}/news/bridge" in link_fields["From"]
        bridge = await ask(fake, BRIDGE_Q)
        assert "forty-two cables" in unmarked(description(bridge))
        assert "forty-two" not in description(await ask(fake, BRIDGE_Q, user_id=b.member, guild_id=b.guild))

        # A rebuild that fails leaves the file and the engine serving as they were.
        serving = library.own_engine(DefaultIds.guild)
        with monkeypatch.context() as patch:

            def broken(*args: Any, **kwargs: Any) -> Any:
                raise IndexStoreError("the disk is full")

            patch.setattr(type(serving), "rebuilt", broken)
            failed = await story(fake, "add", {"file": Upload(panda_story("Mei Mei"), "panda.md")}, **a_admin)
        assert (
            failed["content"].startswith("Nothing was added: the rebuild failed")
            and "disk is full" in failed["content"]
        )
        assert library.own_engine(DefaultIds.guild) is serving and b"Bao Bao" in stored.read_bytes()

        # The same title again is an update: the new text replaces the old one and its answers.
        shows = show_ids(in_a)
        updated = await story(fake, "add", {"file": Upload(panda_story("Mei Mei"), "panda-v2.txt")}, **a_admin)
        assert updated["embeds"][0]["title"] == f"Updated: {PANDA_TITLE}"
        assert "replaces it" in description(updated) and b"Mei Mei" in stored.read_bytes()
        after = description(await ask(fake, PANDA_Q))
        assert "Mei Mei" in after and "Bao Bao" not in after
        changed = await (await fake.click_button(in_a, shows[0])).final_message()
        assert changed["content"] == STORY_CHANGED_TEXT

        # Removal: the story is no longer answered, and the server goes back to the shared engine's memory.
        removed = await story(fake, "remove", {"name": "the city zoo welcomes a GIANT panda"}, **a_admin)
        assert removed["embeds"][0]["title"] == f"Removed: {PANDA_TITLE}" and not stored.exists()
        assert "Mei Mei" not in description(await ask(fake, PANDA_Q))
        assert "giant panda" not in description(await story(fake, "list", {}))
        gone = await story(fake, "remove", {"name": "Harbour bridge reopens after repairs"}, **a_admin)
        assert gone["embeds"][0]["title"].startswith("Removed:")
        assert library.guilds == () and not (config.corpus_dir / "guilds").exists()
        assert corpus_files(config) == before

        fake.assert_heartbeats_on_time(since=started)
        assert_sane(fake)

    records = Records.open(tmp_path / "data")
    try:
        log = records.story_log()
    finally:
        records.close()
    assert [(r.action, r.scope, r.who) for r in log] == [
        ("remove", str(DefaultIds.guild), f"discord:{DefaultIds.admin}"),
        ("remove", str(DefaultIds.guild), f"discord:{DefaultIds.admin}"),
        ("update", str(DefaultIds.guild), f"discord:{DefaultIds.admin}"),
        ("add", str(DefaultIds.guild), f"discord:{DefaultIds.admin}"),
        ("add", str(DefaultIds.guild), f"discord:{DefaultIds.admin}"),
    ]
    assert log[-1].origin == "panda.md" and log[-1].title == PANDA_TITLE and len(log[-1].content_hash) == 64
    assert log[-2].origin == f"{site}/news/bridge"


def pdf(name: str) -> bytes:
    return (PDFS / f"{name}.pdf").read_bytes()


BAD_UPLOADS: list[tuple[str, dict[str, Any], str]] = [
    ("nothing", {}, "give the story as a file"),
    ("empty", {"file": Upload(b"", "empty.txt")}, "empty.txt: the file is empty"),
    ("oversized", {"file": Upload(b"word " * 14_000, "long.txt")}, "70,000 bytes is more than the 60,000 bytes"),
    ("a lie about size", {"file": Upload(b"word " * 14_000, "long.txt", size=10)}, "more than the 60,000 bytes"),
    ("binary", {"file": Upload(b"\x89PNG\r\n\x1a\n" + bytes(200), "photo.txt")}, "it is a PNG image"),
    ("undecodable", {"file": Upload("Caf\xe9 au lait.\n".encode("latin-1"), "cafe.txt")}, "not UTF-8"),
    ("wrong type", {"file": Upload(b"PK\x03\x04" + bytes(50), "story.docx")}, "takes .txt, .md, .html and .pdf"),
    (
        "scanned pdf",
        {"file": Upload((PDFS / "scanned.pdf").read_bytes(), "scan.pdf")},
        "scan.pdf: the PDF has no text layer",
    ),
    (
        "encrypted pdf",
        {"file": Upload((PDFS / "encrypted.pdf").read_bytes(), "locked.pdf")},
        "locked.pdf: the PDF is encrypted",
    ),
    ("leaves its folder", {"file": Upload(b"A story.\n", "../../etc/evil.txt")}, "may not point into other folders"),
    ("hidden name", {"file": Upload(b"A story.\n", ".env.txt")}, "a hidden file's name"),
    ("odd title", {"file": Upload(b"A story.\n", "ok.txt"), "title": "../../.."}, "the title needs letters"),
    ("control title", {"file": Upload(b"A story.\n", "ok.txt"), "title": "a\x00b"}, "control characters"),
    ("both", {"file": Upload(b"A story.\n", "ok.txt"), "url": "https://example.org/x"}, "not both"),
    ("not a link", {"url": "ftp://example.org/story.txt"}, "ftp"),
    ("loopback", {"url": "http://127.0.0.1:9/story"}, "loopback"),
    ("private", {"url": "http://10.1.2.3/story"}, "private"),
]


async def test_bad_input_is_refused_with_its_reason_and_nothing_lands(
    fake_discord: FakeDiscord, own_engine_config: EngineConfig, embedder: Any, tmp_path: Path
) -> None:
    fake = fake_discord
    config = own_engine_config
    settings = bot_settings(fake, tmp_path / "data", config, STORYBOT_MAX_STORY_BYTES="60000")
    async with news_site() as site, storybot_running(fake, settings, lambda: open_engine(config, embedder)) as bot:
        library = bot.service.library
        assert library is not None
        shared = library.shared
        before = corpus_files(config)
        cases = [*BAD_UPLOADS, ("loopback site", {"url": f"{site}/"}, "loopback")]  # loopback is off here
        for label, options, reason in cases:
            answer = await story(fake, "add", options, user_id=DefaultIds.admin)
            text = answer["content"] or ""
            assert text.startswith("Nothing was added: ") and reason in text, (label, text)
            assert answer["flags"] & 64 and "\n" not in text and "Traceback" not in text, label
        page = Upload(b"<html><body><nav><a href='/'>Home</a> <a href='/x'>News</a></nav></body></html>", "front.html")
        no_article = await story(fake, "add", {"file": page}, user_id=DefaultIds.admin)
        assert "front.html: the page has no article text" in no_article["content"]
        missing = await story(fake, "remove", {"name": "../../000_4b5094cc93f72285.txt"}, user_id=DefaultIds.admin)
        assert (
            missing["content"].startswith("Nothing was removed: Server")
            and "has no story of its own" in missing["content"]
        )
        shared_one = await story(fake, "remove", {"name": shared.stories[0].title}, user_id=DefaultIds.admin)
        assert "is a shared story" in shared_one["content"]
        assert corpus_files(config) == before and library.guilds == () and library.shared is shared
        assert INSULT_Q in (await ask(fake, INSULT_Q))["embeds"][0]["title"]
        assert_sane(fake)


async def test_shared_stories_are_the_listed_admins_and_every_server_sees_them(
    fake_discord: FakeDiscord, own_engine_config: EngineConfig, embedder: Any, tmp_path: Path
) -> None:
    fake = fake_discord
    config = own_engine_config
    b = fake.add_server("News Guild")
    own = config.corpus_dir / "guilds" / str(b.guild)
    own.mkdir(parents=True)
    (own / "bridge.txt").write_text(
        "---\ntitle: Bridge notes\n---\nThe footbridge over the canal was painted green in May.\n", encoding="utf-8"
    )
    settings = bot_settings(
        fake, tmp_path / "data", config, STORYBOT_SYNC_GLOBAL="true", STORYBOT_ADMIN_USER_IDS=str(DefaultIds.member)
    )
    async with storybot_running(fake, settings, lambda: open_engine(config, embedder)) as bot:
        library = bot.service.library
        assert library is not None and library.guilds == (b.guild,)  # B's stories on disk got an index at start
        green = "What colour was the footbridge painted?"
        assert "green" in description(await ask(fake, green, user_id=b.member, guild_id=b.guild))
        assert "green" not in description(await ask(fake, green))

        # Server A's admin may not add shared stories; the listed admin user may, from any server or a DM.
        refused = await story(fake, "add", {"file": Upload(panda_story("Bao Bao"), "p.md"), "shared": True},
                              user_id=DefaultIds.admin)  # fmt: skip
        assert refused["content"] == render.NOT_SHARED_ADMIN_TEXT
        added = await story(fake, "add", {"file": Upload(panda_story("Bao Bao"), "p.md")}, dm=True)
        assert added["embeds"][0]["title"] == f"Added: {PANDA_TITLE}" and "shared stories" in description(added)
        assert (config.corpus_dir / "the-city-zoo-welcomes-a-giant-panda.txt").is_file()
        for where in ({}, {"user_id": b.member, "guild_id": b.guild}, {"dm": True}):
            assert "Bao Bao" in description(await ask(fake, PANDA_Q, **where)), where
        assert "green" in description(await ask(fake, green, user_id=b.member, guild_id=b.guild))

        # A server's story may not take a shared story's title, nor a shared one a server's.
        clash = await story(fake, "add", {"file": Upload(panda_story("Other"), "p.md")}, user_id=b.admin,
                            guild_id=b.guild)  # fmt: skip
        assert "is already the title of a shared story" in clash["content"]
        taken = Upload(b"---\ntitle: Bridge notes\n---\nAnother text.\n", "b.txt")
        clash = await story(fake, "add", {"file": taken, "shared": True}, user_id=DefaultIds.member)
        assert "is already the title of another server's story" in clash["content"]

        # /reindex in a server with stories of its own rebuilds that server's index.
        (own / "bridge.txt").write_text(
            "---\ntitle: Bridge notes\n---\nThe footbridge over the canal was painted blue in June.\n", encoding="utf-8"
        )
        reindex = await fake.slash_command("reindex", user_id=b.admin, guild_id=b.guild)
        assert (await reindex.wait_response())["data"]["content"] == render.REINDEX_STARTED_TEXT
        report = await reindex.wait_followup(timeout=120)
        assert report["content"].startswith("Rebuilt this server's index: 3 stories")
        assert "blue" in description(await ask(fake, green, user_id=b.member, guild_id=b.guild))

        removed = await story(fake, "remove", {"name": PANDA_TITLE, "shared": True}, user_id=DefaultIds.member)
        assert removed["embeds"][0]["title"] == f"Removed: {PANDA_TITLE}"
        assert "Bao Bao" not in description(await ask(fake, PANDA_Q, user_id=b.member, guild_id=b.guild))
        last = await story(fake, "remove", {"name": library.shared.stories[0].title}, dm=True)
        assert "the last shared story" in last["content"]
        await asyncio.sleep(0)
        assert_sane(fake)
