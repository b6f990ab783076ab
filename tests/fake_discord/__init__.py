"""A protocol-level fake Discord (REST API v10 + gateway v10) for testing discord.py bots.

Point a real discord.py client at it, then drive users and inspect what the bot sent::

    async with FakeDiscord.with_default_world() as fake:
        undo = point_discord_py_at(fake)   # Route.BASE (http + webhook) and DEFAULT_GATEWAY
        task = asyncio.create_task(bot.start(fake.token))
        await fake.wait_until_ready()
        handle = await fake.slash_command("ping")
        message = await handle.final_message()

What to patch in discord.py 2.7 (done by point_discord_py_at, undone by its return value):

* ``discord.http.Route.BASE = f"{fake.base_url}/api/v10"`` - all REST calls.
* ``discord.webhook.async_.Route.BASE`` (and ``webhook.sync``) - interaction callbacks and
  follow-ups; in 2.7 these modules import ``discord.http.Route``, so it is the same class.
* ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)`` - first
  connection and fresh IDENTIFYs; resumes use READY's ``resume_gateway_url`` (also the fake).

The gateway honours ``compress=zlib-stream`` (what discord.py asks for unless zstandard is
installed); for ``zstd-stream`` it answers with plain text frames, which discord.py accepts.

Beyond the default guild (``fake.ids``)::

    other = fake.add_server("Other Guild")     # DefaultIds: owner, admin (Manage Server), member, #general
    mod = fake.add_guild_member(other.guild, permissions=MANAGE_GUILD)   # or roles=[...], user_id=...
    add = await fake.slash_command("story add", {"file": Upload(b"text", "story.txt")}, user_id=mod,
                                   guild_id=other.guild)   # Attachment.read() fetches from the fake's CDN
    names = await (await fake.autocomplete("story remove", {"name": "dr"}, focused="name")).choices()
    fake.assert_heartbeats_on_time(since=started)        # no beat later than interval + 1 s
"""

from .cdn import Upload
from .discordpy import point_discord_py_at
from .fake import FakeDiscord
from .handles import InteractionHandle
from .world import DefaultIds

__all__ = ["DefaultIds", "FakeDiscord", "InteractionHandle", "Upload", "point_discord_py_at"]
