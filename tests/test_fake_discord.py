"""The fake Discord works with the real discord.py client (no storybot code involved).

A tiny commands.Bot connects over loopback; each test drives users through the fake and
checks both what the bot saw and what the fake recorded.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # discord.py imports audioop on 3.11
    import discord
    from discord import app_commands
    from discord.ext import commands

from tests.fake_discord import FakeDiscord, command_rules, payloads, point_discord_py_at, validation
from tests.fake_discord.fixtures import bot_running
from tests.fake_discord.world import (
    DefaultIds,
    SnowflakeGenerator,
    World,
    populate_default_world,
)

GOLD = 0xFFD700


class GoView(discord.ui.View):
    """A persistent one-button view."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Go", custom_id="demo:go", style=discord.ButtonStyle.primary)
    async def go(self, interaction: discord.Interaction, button: discord.ui.Button[GoView]) -> None:
        await interaction.response.edit_message(content=f"clicked by {interaction.user.name}", view=None)


class TitleModal(discord.ui.Modal, title="New story"):
    story_title: discord.ui.TextInput[TitleModal] = discord.ui.TextInput(label="Title", custom_id="story_title")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"created {self.story_title.value}")


class FastBot(commands.Bot):
    """discord.py waits 5 s before every non-initial IDENTIFY; tests need not."""

    late_error: discord.NotFound | None = None

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


def make_bot(**options: Any) -> tuple[FastBot, list[discord.Message]]:
    """A bot with a few commands; returns it and the list of messages on_message saw."""
    bot = FastBot(command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05, **options)
    seen: list[discord.Message] = []

    @bot.tree.command(name="ping", description="Defer, then edit")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.edit_original_response(content="pong", view=GoView())

    @bot.tree.command(name="echo", description="Say something")
    @app_commands.describe(text="What to say", times="How often")
    async def echo(interaction: discord.Interaction, text: str, times: int = 1) -> None:
        await interaction.response.send_message(" ".join([text] * times), embed=discord.Embed(title="Echo", color=GOLD))

    @bot.tree.command(name="slow", description="Ephemeral defer then follow-up")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send("done", ephemeral=True)

    @bot.tree.command(name="late", description="Answers after the deadline")
    async def late(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.4)
        try:
            await interaction.response.send_message("too late")
        except discord.NotFound as exc:
            bot.late_error = exc

    @bot.tree.command(name="form", description="Opens a modal")
    async def form(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(TitleModal())

    async def story_names(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = ["dragons", "dungeons", "pirates"]
        return [app_commands.Choice(name=n, value=n) for n in names if n.startswith(current)]

    @bot.tree.command(name="story", description="Pick a story")
    @app_commands.autocomplete(name=story_names)
    async def story(interaction: discord.Interaction, name: str) -> None:
        await interaction.response.send_message(f"story {name}")

    @bot.tree.context_menu(name="Quote")
    async def quote(interaction: discord.Interaction, message: discord.Message) -> None:
        await interaction.response.send_message(f"> {message.content}", ephemeral=True)

    @bot.event
    async def on_message(message: discord.Message) -> None:
        if message.author.bot:
            return
        seen.append(message)
        if isinstance(message.channel, discord.DMChannel):
            await message.channel.send(f"dm: {message.content}")
        elif bot.user in message.mentions:
            await message.reply(f"you said: {message.content}")

    async def setup_hook() -> None:
        bot.add_view(GoView())

    bot.setup_hook = setup_hook  # type: ignore[method-assign]
    return bot, seen


@asynccontextmanager
async def running(
    *, sync: bool = True, **bot_options: Any
) -> AsyncIterator[tuple[FakeDiscord, FastBot, list[discord.Message]]]:
    """Start fake + bot, wait for on_ready (and a guild command sync), always clean up."""
    async with FakeDiscord.with_default_world() as fake:
        fake.heartbeat_interval_ms = 1000
        bot, seen = make_bot(**bot_options)
        async with bot_running(fake, bot):
            if sync:
                guild = discord.Object(DefaultIds.guild)
                bot.tree.copy_global_to(guild=guild)
                await bot.tree.sync(guild=guild)
            yield fake, bot, seen


# --------------------------------------------------------------------- pure parts
def test_payload_builders_look_like_discord() -> None:
    world = World(SnowflakeGenerator())
    world.add_user(1, "bot", bot=True)
    ids = populate_default_world(world, 1)
    guild = world.guilds[ids.guild]
    data = payloads.guild_create_payload(guild, world, member_ids=[1])
    assert data["id"] == str(ids.guild)
    assert {r["id"] for r in data["roles"]} >= {str(ids.guild), str(ids.admin_role)}
    assert [m["user"]["id"] for m in data["members"]] == ["1"]
    assert data["channels"][0]["type"] == 0 and data["channels"][0]["guild_id"] == str(ids.guild)
    assert world.permissions(ids.guild, ids.admin) & 0x20
    assert not world.permissions(ids.guild, ids.member) & 0x20
    assert world.permissions(ids.guild, ids.owner) == 0x1F7FFFFFFFFFFF == discord.Permissions.all().value

    channel = payloads.channel_payload(world.channels[ids.channel], world)
    member = payloads.member_payload(guild.members[ids.member], world.user(ids.member), permissions=5)
    common: dict[str, Any] = {
        "interaction_id": 9,
        "application_id": 1,
        "interaction_type": 2,
        "token": "t",
        "data": {},
        "user": world.user(ids.member),
        "app_permissions": 0,
    }
    in_guild = payloads.interaction_payload(channel=channel, guild=guild, member=member, **common)
    assert in_guild["member"]["permissions"] == "5" and "user" not in in_guild and in_guild["context"] == 0
    dm = payloads.channel_payload(world.dm_channel(ids.member), world)
    in_dm = payloads.interaction_payload(channel=dm, guild=None, member=None, **common)
    assert in_dm["user"]["id"] == str(ids.member) and "member" not in in_dm and dm["type"] == 1

    response = payloads.callback_response_payload(
        interaction_id=9, interaction_type=2, callback_type=5, message={"id": "7", "flags": 64 | 128}
    )
    assert response["interaction"] == {
        "id": "9",
        "type": 2,
        "response_message_id": "7",
        "response_message_loading": True,
        "response_message_ephemeral": True,
    }
    assert response["resource"]["type"] == 5


def test_validation_reports_discord_error_trees() -> None:
    assert validation.check_message({"content": "x" * 2000}) is None
    errors = validation.check_message({"content": "x" * 2001})
    assert errors == {
        "content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]}
    }
    embed = {"title": "t" * 257, "fields": [{"name": "n", "value": "v" * 1025}]}
    errors = validation.check_message({"embeds": [embed]}, prefix=["data"])
    assert errors is not None
    assert "title" in errors["data"]["embeds"]["0"] and "value" in errors["data"]["embeds"]["0"]["fields"]["0"]
    big = [{"description": "d" * 4000} for _ in range(2)]
    assert "_errors" in (validation.check_message({"embeds": big}) or {})["embeds"]
    rows = [
        {"type": 1, "components": [{"type": 2, "style": 1, "custom_id": f"b{r}{i}", "label": "x"} for i in range(6)]}
        for r in range(6)
    ]
    errors = validation.check_message({"components": rows}) or {}
    assert "_errors" in errors["components"] and "components" in errors["components"]["0"]
    assert validation.is_empty_message({"content": "", "embeds": []}, has_files=False)
    assert not validation.is_empty_message({"content": ""}, has_files=True)
    bad = command_rules.check_commands(
        [
            {"name": "Bad Name", "description": ""},
            {"name": "ok", "description": "fine", "options": [{"type": 3, "name": "a", "description": "x" * 101}]},
        ]
    )
    assert bad is not None and set(bad["0"]) == {"name", "description"} and "options" in bad["1"]


# ---------------------------------------------------------------- with discord.py
@pytest.mark.asyncio
async def test_login_ready_sync_and_slash_commands() -> None:
    async with running() as (fake, bot, _):
        assert bot.user is not None and bot.user.id == fake.bot_user_id
        guild = bot.get_guild(DefaultIds.guild)
        assert guild is not None and guild.me is not None and guild.get_channel(DefaultIds.channel) is not None
        assert fake.identify_count == 1 and fake.identify_payloads[0]["intents"] == discord.Intents.default().value
        assert fake.connections[0]["query"] == {"v": "10", "encoding": "json", "compress": "zlib-stream"}
        names = {c["name"] for c in fake.guild_commands[DefaultIds.guild]}
        assert names == {"ping", "echo", "slow", "late", "form", "story", "Quote"}

        handle = await fake.slash_command("ping")
        assert (await handle.wait_response())["type"] == 5
        final = await handle.final_message()
        assert final["content"] == "pong" and final["components"][0]["components"][0]["custom_id"] == "demo:go"
        assert [m["kind"] for m in handle.messages] == ["edit"]

        echo = await fake.slash_command("echo", {"text": "hi", "times": 2}, user_id=DefaultIds.admin)
        answer = await echo.final_message()
        assert answer["content"] == "hi hi" and answer["embeds"][0]["title"] == "Echo"
        with pytest.raises(ValueError, match="missing required"):
            await fake.slash_command("echo", {"times": 1})

        slow = await fake.slash_command("slow")
        done = await slow.final_message()
        assert done["content"] == "done" and done["flags"] & 64 and int(done["id"]) == slow.record.original_message_id
        assert not fake.unknown_requests and not fake.error_responses


@pytest.mark.asyncio
async def test_button_modal_context_menu_and_dm() -> None:
    async with running() as (fake, _bot, _):
        ping = await fake.slash_command("ping")
        message = await ping.final_message()
        click = await fake.click_button(message, "demo:go", user_id=DefaultIds.admin)
        assert (await click.wait_response())["type"] == 7
        clicked = await click.final_message()
        assert (
            clicked["content"] == "clicked by admin" and clicked["components"] == [] and clicked["id"] == message["id"]
        )

        form = await fake.slash_command("form")
        submitted = await form.submit_modal({"story_title": "Dragons"})
        assert (await submitted.final_message())["content"] == "created Dragons"

        typing = await fake.autocomplete("story", {"name": "d"}, focused="name")
        assert (await typing.wait_response())["data"]["choices"] == [
            {"name": "dragons", "value": "dragons"},
            {"name": "dungeons", "value": "dungeons"},
        ]

        quoted = await fake.message_command("Quote", clicked)
        answer = await quoted.final_message()
        assert answer["content"] == "> clicked by admin" and answer["flags"] & 64

        dm_channel = fake.dm_channel_id(DefaultIds.member)
        await fake.user_message(content="hello there", dm=True)
        reply = await fake.wait_for_message(lambda m: m["channel_id"] == dm_channel)
        assert reply["content"] == "dm: hello there" and reply["kind"] == "channel"


@pytest.mark.asyncio
async def test_mentions_replies_and_message_content_intent() -> None:
    async with running(sync=False) as (fake, _bot, seen):
        await fake.user_message(content="no mention here")
        mention = await fake.user_message(content=f"{fake.bot_mention} tell a story")
        reply = await fake.wait_for_message(lambda m: m["kind"] == "channel")
        assert reply["content"] == f"you said: {fake.bot_mention} tell a story"
        assert reply["message"]["message_reference"]["message_id"] == mention["id"]
        assert reply["message"]["type"] == 19
        assert [m.content for m in seen] == ["", f"{fake.bot_mention} tell a story"]  # no MESSAGE_CONTENT intent

        since = len(fake.messages)
        await fake.user_message(content="and then?", reply_to=reply)
        follow = await fake.wait_for_message(since=since)
        assert follow["content"] == "you said: and then?"
        assert seen[-1].reference is not None and seen[-1].reference.message_id == reply["id"]


@pytest.mark.asyncio
async def test_limits_are_enforced_like_discord() -> None:
    async with running(sync=False) as (fake, bot, _):
        channel = bot.get_channel(DefaultIds.channel)
        assert isinstance(channel, discord.TextChannel)
        with pytest.raises(discord.HTTPException) as info:
            await channel.send("x" * 2001)
        assert info.value.status == 400 and info.value.code == 50035
        assert fake.validation_errors[-1]["error"]["errors"]["content"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
        with pytest.raises(discord.HTTPException) as info:
            await channel.send(embed=discord.Embed(description="d" * 4097))
        assert info.value.code == 50035 and len(fake.validation_errors) == 2
        sent = await channel.send("x" * 2000)
        assert fake.get_message(sent.id)["content"] == "x" * 2000

        with pytest.raises(discord.NotFound):
            await bot.http.request(discord.http.Route("GET", "/guilds/{guild_id}/preview", guild_id=DefaultIds.guild))
        assert fake.unknown_requests[-1]["path"] == f"/guilds/{DefaultIds.guild}/preview"


@pytest.mark.asyncio
async def test_interaction_rules_double_ack_and_deadline() -> None:
    async with running() as (fake, bot, _):
        handle = await fake.slash_command("echo", {"text": "a"})
        await handle.wait_response()
        url = f"{fake.base_url}/api/v10/interactions/{handle.id}/{handle.token}/callback"
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json={"type": 4, "data": {"content": "x"}}) as resp,
        ):
            assert resp.status == 400 and (await resp.json())["code"] == 40060

        fake.interaction_deadline = 0.2
        late = await fake.slash_command("late")
        await asyncio.sleep(0.6)
        assert late.id in fake.expired_interactions and not late.record.responded
        assert bot.late_error is not None and bot.late_error.code == 10062


@pytest.mark.asyncio
async def test_rate_limits_and_server_errors_are_retried() -> None:
    async with running() as (fake, _bot, _):
        fake.rate_limit("/callback", retry_after=0.2)
        handle = await fake.slash_command("ping")
        assert (await handle.final_message())["content"] == "pong"
        statuses = [r["status"] for r in fake.requests if r["path"].endswith("/callback")]
        assert statuses == [429, 200]

        fake.rate_limit("/messages/@original", retry_after=0.1, is_global=True)
        fake.fail_next("POST /channels/", status=500)
        handle = await fake.slash_command("ping")
        assert (await handle.final_message())["content"] == "pong"
        await fake.user_message(content=f"{fake.bot_mention} hi")
        assert (await fake.wait_for_message(lambda m: m["kind"] == "channel", timeout=5))["content"].startswith(
            "you said"
        )
        assert [f["status"] for f in fake.faults.fired] == [429, 429, 500]


@pytest.mark.asyncio
async def test_gateway_resume_replay_and_reidentify() -> None:
    async with running() as (fake, _bot, _):
        await fake.close_gateway(4000)
        await fake.wait_until_ready(5)
        assert fake.resume_count == 1 and fake.identify_count == 1
        assert fake.connections[-1]["path"] == "/resume-gateway"
        assert (await (await fake.slash_command("ping")).final_message())["content"] == "pong"

        fake.drop_gateway()
        handle = await fake.slash_command("echo", {"text": "replayed"})  # buffered, replayed on RESUME
        await fake.wait_until_ready(5)
        assert (await handle.final_message())["content"] == "replayed"
        assert fake.resume_count == 2

        await fake.invalidate_session(resumable=False)
        await fake.wait_until(lambda: fake.identify_count == 2, timeout=5)
        await fake.wait_until_ready(5)
        assert fake.connections[-1]["path"] == "/resume-gateway"  # discord.py keeps the resume URL here
        assert (await (await fake.slash_command("echo", {"text": "fresh"})).final_message())["content"] == "fresh"


@pytest.mark.asyncio
async def test_heartbeats_and_zombie_connection() -> None:
    async with running(sync=True, heartbeat_timeout=1.5) as (fake, _bot, _):
        await asyncio.sleep(2.2)
        assert len(fake.heartbeats) >= 3
        assert fake.max_heartbeat_gap() <= fake.heartbeat_interval_ms / 1000 + 1
        connections = fake.connection_count
        fake.stop_acking_heartbeats()
        await fake.wait_until(lambda: fake.resume_count == 1, timeout=6)
        assert fake.connection_count == connections + 1 and fake.resume_count == 1
        assert (await (await fake.slash_command("ping")).final_message())["content"] == "pong"


@pytest.mark.asyncio
async def test_bad_token_is_rejected() -> None:
    async with FakeDiscord.with_default_world() as fake:
        undo = point_discord_py_at(fake)
        bot, _ = make_bot()
        try:
            with pytest.raises(discord.LoginFailure):
                await bot.login("wrong-token")
        finally:
            await bot.close()
            undo()
        assert fake.requests[0]["status"] == 401 and "Authorization" not in fake.requests[0]["headers"]


@pytest.mark.asyncio
async def test_fixture_serves_plain_rest(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    headers = {"Authorization": f"Bot {fake.token}"}
    async with aiohttp.ClientSession(base_url=fake.base_url) as http:
        async with http.get("/api/v10/gateway/bot", headers=headers) as resp:
            assert resp.status == 200 and resp.headers["Content-Type"] == "application/json"
            assert (await resp.json())["url"] == fake.gateway_url and "X-RateLimit-Bucket" in resp.headers
        async with http.post(
            "/api/v10/users/@me/channels", json={"recipient_id": str(DefaultIds.member)}, headers=headers
        ) as resp:
            assert int((await resp.json())["id"]) == fake.dm_channel_id(DefaultIds.member)
        async with http.get("/api/v10/nope", headers=headers) as resp:
            assert resp.status == 404 and await resp.json() == {"message": "404: Not Found", "code": 0}
    assert [r["path"] for r in fake.unknown_requests] == ["/nope"]
    assert fake.heartbeat_interval_ms == 1000 and fake.ids == DefaultIds()
