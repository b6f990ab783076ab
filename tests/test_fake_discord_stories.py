"""The fake Discord supports what story management needs, proven with a tiny real discord.py bot.

A `/story` group (add with an attachment, list, remove with autocomplete) defined here, not
storybot's cogs: command groups register and are validated, attachments download from the
fake's CDN, autocomplete round-trips, permissions differ per guild, bad answers are refused,
and late heartbeats are caught.
"""

from __future__ import annotations

import asyncio
import io
import time
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # discord.py imports audioop on 3.11
    import discord
    from discord import app_commands
    from discord.ext import commands

from tests.fake_discord import DefaultIds, FakeDiscord, Upload, command_rules
from tests.fake_discord.cdn import GONE_TEXT
from tests.fake_discord.fixtures import bot_running
from tests.fake_discord.heartbeats import late_heartbeats
from tests.fake_discord.world import ADMINISTRATOR, MANAGE_GUILD

Choice = app_commands.Choice
T = TypeVar("T")
STORY_TEXT = b"---\ntitle: Dragons return\n---\nThe dragons came back on Tuesday.\n"


class StoryBot(commands.Bot):
    """Per-guild stories and a record of what the commands saw."""

    def __init__(self) -> None:
        super().__init__(command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05)
        self.stories: dict[int, list[str]] = {}
        self.uploads: list[tuple[discord.Attachment, bytes]] = []
        self.download_errors: list[discord.HTTPException] = []
        self.seen: list[discord.Interaction] = []

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None  # discord.py waits 5 s before re-IDENTIFYing; tests need not


def make_bot() -> StoryBot:
    """A bot with a guild-only /story group and a /work command that takes 2.5 s."""
    bot = StoryBot()
    story = app_commands.Group(name="story", description="Manage this server's stories", guild_only=True)

    @story.command(name="add", description="Add a story from a file or a link")
    @app_commands.describe(file="A text file", url="A link to the story", title="Its title")
    async def add(
        interaction: discord.Interaction,
        file: discord.Attachment | None = None,
        url: str | None = None,
        title: str | None = None,
    ) -> None:
        bot.seen.append(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        if file is not None:
            try:
                data = await file.read()
            except discord.HTTPException as exc:
                bot.download_errors.append(exc)
                await interaction.followup.send("could not download the file", ephemeral=True)
                return
            bot.uploads.append((file, data))
        name = title or (file.filename if file is not None else url) or "untitled"
        bot.stories.setdefault(interaction.guild_id or 0, []).append(name)
        await interaction.followup.send(f"added {name}", ephemeral=True)
        await interaction.followup.send("anything else?", ephemeral=True)

    @story.command(name="list", description="List this server's stories")
    async def list_(interaction: discord.Interaction) -> None:
        bot.seen.append(interaction)
        names = bot.stories.get(interaction.guild_id or 0, [])
        listing = discord.File(io.BytesIO("\n".join(names).encode()), "stories.txt")
        await interaction.response.send_message(f"{len(names)} stories", file=listing, ephemeral=True)

    async def story_names(interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        if current == "many":
            return [Choice(name=f"s{i}", value=f"s{i}") for i in range(26)]
        if current == "long":
            return [Choice(name="x" * 101, value="x")]
        names = bot.stories.get(interaction.guild_id or 0, [])
        return [Choice(name=n, value=n) for n in names if n.startswith(current)][:25]

    @story.command(name="remove", description="Remove a story")
    @app_commands.describe(name="The story to remove")
    @app_commands.autocomplete(name=story_names)
    async def remove(interaction: discord.Interaction, name: str) -> None:
        bot.stories.get(interaction.guild_id or 0, []).remove(name)
        await interaction.response.send_message(f"removed {name}", ephemeral=True)

    @bot.tree.command(name="work", description="Takes a while")
    async def work(interaction: discord.Interaction, blocking: bool) -> None:
        await interaction.response.defer(thinking=True)
        if blocking:
            time.sleep(2.5)  # blocks the event loop: heartbeats stall
        else:
            await asyncio.to_thread(time.sleep, 2.5)
        await interaction.followup.send("worked")

    bot.tree.add_command(story)
    return bot


@asynccontextmanager
async def running(
    setup: Callable[[FakeDiscord], T] = lambda fake: None,
) -> AsyncIterator[tuple[FakeDiscord, StoryBot, T]]:
    """The fake (default guild plus what setup adds before the bot connects; its result is yielded
    too) and the bot, with its commands synced globally."""
    async with FakeDiscord.with_default_world() as fake:
        fake.heartbeat_interval_ms = 1000
        made = setup(fake)
        bot = make_bot()
        async with bot_running(fake, bot):
            await bot.tree.sync()
            yield fake, bot, made


@dataclass(frozen=True)
class Cast:
    """Who is who across two guilds: A (the default) and B."""

    b: DefaultIds
    boss: int
    mod: int


def two_guilds(fake: FakeDiscord) -> Cast:
    """Guild B; A's admin is a plain member there; B has a member with Administrator, A a second mod."""
    b = fake.add_server("News Guild")
    fake.add_guild_member(b.guild, user_id=DefaultIds.admin)
    return Cast(
        b=b,
        boss=fake.add_guild_member(b.guild, permissions=ADMINISTRATOR, username="boss"),
        mod=fake.add_guild_member(DefaultIds.guild, permissions=MANAGE_GUILD),
    )


# --------------------------------------------------------------------- pure parts
def test_command_rules_for_groups_and_autocomplete() -> None:
    def sub(name: str, options: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return {"type": 1, "name": name, "description": name, "options": options or []}

    text = {"type": 3, "name": "title", "description": "t"}
    group = {"type": 2, "name": "admin", "description": "a", "options": [sub("reset")]}
    good = {"name": "story", "description": "Stories", "options": [sub("list"), sub("add", [text]), group]}
    assert command_rules.check_commands([good]) is None

    mixed = {"name": "story", "description": "d", "options": [text, sub("list")]}
    errors = command_rules.check_commands([mixed]) or {}
    assert errors["0"]["options"]["1"]["_errors"][0]["code"] == "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID"
    deep = {"name": "story", "description": "d", "options": [{**group, "options": [{**group, "name": "inner"}]}]}
    errors = command_rules.check_commands([deep]) or {}
    assert "_errors" in errors["0"]["options"]["0"]["options"]["0"]
    nested_in_sub = {"name": "story", "description": "d", "options": [sub("add", [sub("again")])]}
    assert command_rules.check_commands([nested_in_sub]) is not None
    bad_auto = {**text, "autocomplete": True, "choices": [{"name": "a", "value": "a"}]}
    attach_auto = {"type": 11, "name": "file", "description": "f", "autocomplete": True}
    errors = command_rules.check_commands(
        [{"name": "story", "description": "d", "options": [sub("add", [bad_auto, attach_auto])]}]
    )
    inner = (errors or {})["0"]["options"]["0"]["options"]
    assert set(inner) == {"0", "1"} and "autocomplete" in inner["0"] and "autocomplete" in inner["1"]

    assert command_rules.check_autocomplete({"choices": [{"name": "a", "value": "a"}] * 25}, 3) is None
    errors = command_rules.check_autocomplete({"choices": [{"name": "a", "value": "a"}] * 26}, 3) or {}
    assert errors["data"]["choices"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
    errors = command_rules.check_autocomplete({"choices": [{"name": "", "value": "v" * 101}]}, 3) or {}
    assert set(errors["data"]["choices"]["0"]) == {"name", "value"}
    assert command_rules.check_autocomplete({"choices": [{"name": "one", "value": "1"}]}, 4) is not None
    assert command_rules.check_autocomplete({"choices": [{"name": "one", "value": 1}]}, 4) is None
    assert command_rules.check_autocomplete({"choices": [{"name": "n", "value": 1.5}]}, 10) is None


def test_late_heartbeats_are_measured_per_connection() -> None:
    conns = [
        {"number": 1, "opened": 0.0, "closed": 10.0},
        {"number": 2, "opened": 10.5, "closed": None},
    ]
    beats = [(t, 1) for t in (0.1, 1.1, 2.1, 5.0, 6.0, 7.0, 8.0, 9.0)] + [(11.0, 2), (12.0, 2)]
    kwargs: dict[str, Any] = {"interval": 1.0, "slack": 0.5}
    late = late_heartbeats(beats, conns, since=0.0, until=12.5, **kwargs)
    assert [(g["connection"], g["start"], g["end"]) for g in late] == [(1, 2.1, 5.0)]
    assert late_heartbeats(beats, conns, since=5.5, until=12.5, **kwargs) == []
    overdue = late_heartbeats(beats, conns, since=12.0, until=14.0, **kwargs)
    assert [(g["connection"], g["end"]) for g in overdue] == [(2, 14.0)]  # the beat due now has not come


# ---------------------------------------------------------------- with discord.py
@pytest.mark.asyncio
async def test_story_group_registers_and_bad_groups_are_refused() -> None:
    async with running() as (fake, bot, _):
        story = next(c for c in fake.global_commands if c["name"] == "story")
        assert story["dm_permission"] is False
        subs = {o["name"]: o for o in story["options"]}
        assert {o["type"] for o in subs.values()} == {1} and set(subs) == {"add", "list", "remove"}
        assert [(o["name"], o["type"]) for o in subs["add"]["options"]] == [("file", 11), ("url", 3), ("title", 3)]
        assert subs["remove"]["options"][0]["autocomplete"] is True

        guild = discord.Object(DefaultIds.guild)
        bot.tree.copy_global_to(guild=guild)
        await bot.tree.sync(guild=guild)
        assert {c["name"] for c in fake.guild_commands[DefaultIds.guild]} == {"story", "work"}

        string = {"type": 3, "name": "title", "description": "t"}
        mixed = {"name": "story", "description": "d", "options": [string, {**string, "type": 1, "name": "list"}]}
        with pytest.raises(discord.HTTPException) as info:
            await bot.http.bulk_upsert_guild_commands(fake.application_id, DefaultIds.guild, [mixed])
        assert info.value.status == 400 and info.value.code == 50035
        refused = fake.validation_errors[-1]["error"]["errors"]["0"]["options"]["1"]["_errors"][0]
        assert refused["code"] == "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID"
        assert {c["name"] for c in fake.guild_commands[DefaultIds.guild]} == {"story", "work"}  # unchanged

        with pytest.raises(ValueError, match="needs a subcommand"):
            await fake.slash_command("story")
        with pytest.raises(LookupError, match="not usable in DMs"):
            await fake.slash_command("story list", dm=True)


@pytest.mark.asyncio
async def test_add_reads_the_attachment_from_the_fake_cdn() -> None:
    async with running() as (fake, bot, _):
        upload = Upload(STORY_TEXT, "Dragons return.txt")
        handle = await fake.slash_command(
            "story add", {"file": upload, "title": "Dragons"}, user_id=DefaultIds.admin, channel_id=DefaultIds.channel
        )
        data = handle.payload["data"]
        assert data["name"] == "story" and data["options"][0]["name"] == "add" and data["options"][0]["type"] == 1
        options = {o["name"]: o for o in data["options"][0]["options"]}
        resolved = data["resolved"]["attachments"][options["file"]["value"]]
        assert options["file"]["type"] == 11 and options["title"] == {"name": "title", "type": 3, "value": "Dragons"}
        assert resolved["filename"] == "Dragons_return.txt" and resolved["ephemeral"] is True
        assert resolved["content_type"] == "text/plain; charset=utf-8" and resolved["size"] == len(STORY_TEXT)

        assert (await handle.wait_response())["type"] == 5
        last = await handle.final_message()
        first = fake.get_message(handle.record.original_message_id or 0)  # the first follow-up replaced "thinking"
        assert (
            first["content"] == "added Dragons" and first["flags"] == 64 and first["interaction"]["name"] == "story add"
        )
        assert last["content"] == "anything else?" and last["flags"] & 64 and last["id"] != first["id"]
        assert [m["kind"] for m in handle.messages] == ["followup", "followup"]
        attachment, content = bot.uploads[-1]
        assert isinstance(attachment, discord.Attachment) and content == STORY_TEXT
        assert attachment.filename == "Dragons_return.txt" and attachment.size == len(STORY_TEXT)
        assert attachment.content_type == "text/plain; charset=utf-8" and attachment.ephemeral
        downloads = fake.cdn.downloads(resolved)
        assert [(d["status"], d["proxy"]) for d in downloads] == [(200, False)]
        assert not fake.unknown_requests and not fake.error_responses

        # What the payload claims is the test's choice: here a 9-byte "text file" that is really 2 MB of PNG.
        png = b"\x89PNG\r\n\x1a\n" + bytes(2 * 1024 * 1024)
        liar = Upload(png, "story.txt", content_type="text/plain", size=9, served_type="image/png")
        await (await fake.slash_command("story add", {"file": liar})).final_message()
        attachment, content = bot.uploads[-1]
        assert attachment.size == 9 and attachment.content_type == "text/plain" and content == png
        assert bot.seen[-1].user.id == DefaultIds.member

        gone = Upload(STORY_TEXT, "old.txt", status=404)
        answer = await (await fake.slash_command("story add", {"file": gone})).final_message()
        assert answer["content"] == "could not download the file"
        assert isinstance(bot.download_errors[-1], discord.NotFound)

        listing = await (await fake.slash_command("story list")).final_message()
        assert listing["content"] == "2 stories" and listing["attachments"][0]["filename"] == "stories.txt"
        async with aiohttp.ClientSession() as http:
            async with http.get(listing["attachments"][0]["url"]) as resp:
                assert resp.status == 200 and await resp.read() == b"Dragons\nstory.txt"
            async with http.get(listing["attachments"][0]["url"].split("?")[0]) as resp:
                assert resp.status == 404 and await resp.text() == GONE_TEXT  # unsigned links are refused
            posted = await fake.user_message(content="see file", attachments=[Upload(b"plain", "notes.md")])
            attached = posted["attachments"][0]
            assert "ephemeral" not in attached and "/attachments/" in attached["url"]
            async with http.get(attached["proxy_url"]) as resp:
                assert await resp.read() == b"plain" and resp.headers["Content-Type"] == attached["content_type"]
        assert fake.cdn.downloads(attached)[-1]["proxy"]
        assert not fake.unknown_requests
        too_big = Upload(bytes(handle.payload["attachment_size_limit"] + 1), "huge.txt")
        with pytest.raises(ValueError, match="cannot upload"):
            await fake.slash_command("story add", {"file": too_big})


@pytest.mark.asyncio
async def test_autocomplete_round_trip_and_refused_answers() -> None:
    async with running() as (fake, bot, _):
        bot.stories[DefaultIds.guild] = ["dragons", "dungeons", "pirates"]
        typing = await fake.autocomplete("story remove", {"name": "d"}, focused="name", user_id=DefaultIds.admin)
        assert typing.payload["type"] == 4
        assert typing.payload["data"]["options"] == [
            {"name": "remove", "type": 1, "options": [{"name": "name", "type": 3, "value": "d", "focused": True}]}
        ]
        assert await typing.choices() == [
            {"name": "dragons", "value": "dragons"},
            {"name": "dungeons", "value": "dungeons"},
        ]
        removed = await fake.slash_command("story remove", {"name": "dragons"}, user_id=DefaultIds.admin)
        assert (await removed.final_message())["content"] == "removed dragons"
        assert await (await fake.autocomplete("story remove", {"name": "d"}, focused="name")).choices() == [
            {"name": "dungeons", "value": "dungeons"}
        ]
        assert not fake.validation_errors

        many = await fake.autocomplete("story remove", {"name": "many"}, focused="name")
        error = await many.wait_error()
        assert error["status"] == 400 and error["error"]["code"] == 50035
        assert error["error"]["errors"]["data"]["choices"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
        assert fake.validation_errors[-1] is error and not many.record.responded
        with pytest.raises(LookupError, match="refused"):
            await many.choices()

        long = await fake.autocomplete("story remove", {"name": "long"}, focused="name")
        error = await long.wait_error()
        assert error["error"]["errors"]["data"]["choices"]["0"]["name"]["_errors"][0]["code"] == "BASE_TYPE_BAD_LENGTH"

        with pytest.raises(ValueError, match="autocomplete"):
            await fake.autocomplete("story add", {"title": "x"}, focused="title")


@pytest.mark.asyncio
async def test_member_permissions_differ_per_guild() -> None:
    async with running(two_guilds) as (fake, bot, cast):
        b = cast.b
        assert bot.get_guild(b.guild) is not None and len(bot.guilds) == 2

        async def manage(user_id: int, guild_id: int) -> tuple[bool, bool]:
            await (await fake.slash_command("story list", user_id=user_id, guild_id=guild_id)).final_message()
            seen = bot.seen[-1]
            assert seen.guild_id == guild_id and seen.user.id == user_id and isinstance(seen.user, discord.Member)
            assert seen.app_permissions.send_messages and seen.app_permissions.attach_files
            assert seen.user.guild_permissions.manage_guild == seen.permissions.manage_guild  # roles agree
            return seen.permissions.manage_guild, seen.permissions.administrator

        assert await manage(DefaultIds.admin, DefaultIds.guild) == (True, False)
        assert await manage(DefaultIds.admin, b.guild) == (False, False)  # same user, plain member in B
        assert await manage(DefaultIds.member, DefaultIds.guild) == (False, False)
        assert await manage(cast.mod, DefaultIds.guild) == (True, False)
        assert await manage(b.admin, b.guild) == (True, False)
        assert await manage(b.member, b.guild) == (False, False)
        assert await manage(b.owner, b.guild) == (True, True)
        assert await manage(cast.boss, b.guild) == (True, True)
        assert bot.seen[-1].channel is not None and bot.seen[-1].channel.id == b.channel
        with pytest.raises(ValueError, match="not a member"):
            await fake.slash_command("story list", user_id=b.member, guild_id=DefaultIds.guild)

        # Stories stay per guild: what B adds, A's autocomplete does not offer.
        added = await fake.slash_command(
            "story add", {"url": "https://b.invalid/x"}, user_id=b.member, guild_id=b.guild
        )
        await added.wait_followup(lambda m: m["content"] == "anything else?")
        assert await (
            await fake.autocomplete("story remove", {"name": "h"}, focused="name", user_id=b.member, guild_id=b.guild)
        ).choices()
        assert await (await fake.autocomplete("story remove", {"name": "h"}, focused="name")).choices() == []

        # The bot is invited to a third guild while running.
        c = fake.add_server("Late Guild")
        await fake.announce_guild(c.guild)
        await fake.wait_until(lambda: bot.get_guild(c.guild) is not None)
        assert await manage(c.admin, c.guild) == (True, False)

        # Discord hides a command from members lacking its default_member_permissions (when asked to).
        story = next(cmd for cmd in fake.global_commands if cmd["name"] == "story")
        story["default_member_permissions"] = str(MANAGE_GUILD)
        assert await manage(b.member, b.guild) == (False, False)  # not enforced unless asked
        fake.enforce_default_member_permissions = True
        with pytest.raises(LookupError, match="needs permissions"):
            await fake.slash_command("story list", user_id=b.member, guild_id=b.guild)
        assert await manage(b.admin, b.guild) == (True, False)


@pytest.mark.asyncio
async def test_late_heartbeats_are_reported() -> None:
    async with running() as (fake, _bot, _):
        await asyncio.sleep(1.2)
        started = time.monotonic()
        threaded = await fake.slash_command("work", {"blocking": False})
        assert (await threaded.wait_followup(timeout=10))["content"] == "worked"
        fake.assert_heartbeats_on_time(since=started)

        blocked_from = time.monotonic()
        blocked = await fake.slash_command("work", {"blocking": True})
        await blocked.wait_followup(timeout=10)
        await asyncio.sleep(0.3)
        late = fake.late_heartbeats(since=blocked_from)
        assert late and max(g["gap"] for g in late) > 2.0
        with pytest.raises(AssertionError, match="late heartbeats"):
            fake.assert_heartbeats_on_time(since=blocked_from)
