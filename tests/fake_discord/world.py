"""The fake's world model: users, guilds, roles, members and channels.

Kept free of any protocol detail so tests can build and inspect a world without a server;
payloads.py turns these records into the JSON Discord would send.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

DISCORD_EPOCH_MS = 1420070400000

# Permission bits (https://discord.com/developers/docs/topics/permissions), named like discord.py.
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
ADD_REACTIONS = 1 << 6
MANAGE_GUILD = 1 << 5
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_EXTERNAL_EMOJIS = 1 << 18
CHANGE_NICKNAME = 1 << 26
USE_APPLICATION_COMMANDS = 1 << 31
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = 0x1F7FFFFFFFFFFF
"""Every bit Discord currently defines (equals discord.Permissions.all().value in 2.7)."""

DEFAULT_EVERYONE_PERMISSIONS = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
)
"""What @everyone gets in a freshly created guild (roughly); plain members rely on it."""

CHANNEL_TEXT = 0
CHANNEL_DM = 1


class SnowflakeGenerator:
    """Time-based snowflakes so discord.py's created_at and ordering look real."""

    def __init__(self) -> None:
        self._counter = itertools.count()

    def next(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (1 << 17) | (next(self._counter) & 0xFFF)


def snowflake_time(snowflake: int) -> datetime:
    """The creation time encoded in a snowflake (for message timestamps)."""
    return datetime.fromtimestamp(((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000, tz=UTC)


def iso(dt: datetime) -> str:
    """Discord's ISO-8601 timestamp format."""
    return dt.isoformat(timespec="microseconds")


@dataclass
class User:
    """A Discord account (human or bot)."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    avatar: str | None = None


@dataclass
class Role:
    """A guild role; the @everyone role shares the guild's id."""

    id: int
    name: str
    permissions: int
    position: int = 0
    color: int = 0
    hoist: bool = False
    managed: bool = False
    mentionable: bool = False


@dataclass
class Member:
    """A user's membership in one guild."""

    user_id: int
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=lambda: iso(datetime.now(UTC)))


@dataclass
class Channel:
    """A guild text channel or a DM channel (guild_id None, recipient set)."""

    id: int
    name: str | None
    type: int = CHANNEL_TEXT
    guild_id: int | None = None
    position: int = 0
    topic: str | None = None
    parent_id: int | None = None
    recipient_id: int | None = None
    nsfw: bool = False


@dataclass
class Guild:
    """A guild and everything in it."""

    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    locale: str = "en-US"
    features: list[str] = field(default_factory=list)


class World:
    """All entities the fake knows, with lookups the REST and gateway code need."""

    def __init__(self, snowflakes: SnowflakeGenerator) -> None:
        self.snowflakes = snowflakes
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.dm_channels: dict[int, Channel] = {}

    def add_user(self, user_id: int, username: str, *, bot: bool = False, global_name: str | None = None) -> User:
        """Create or replace a user."""
        user = User(id=user_id, username=username, bot=bot, global_name=global_name)
        self.users[user_id] = user
        return user

    def user(self, user_id: int) -> User:
        """A known user, or a placeholder so tests never crash on unknown ids."""
        return self.users.get(user_id) or self.add_user(user_id, f"user{user_id}")

    def add_guild(self, guild_id: int, name: str, owner_id: int) -> Guild:
        """Create a guild with its @everyone role (id == guild id) and the owner as member."""
        guild = Guild(id=guild_id, name=name, owner_id=owner_id)
        guild.roles[guild_id] = Role(id=guild_id, name="@everyone", permissions=DEFAULT_EVERYONE_PERMISSIONS)
        self.guilds[guild_id] = guild
        self.user(owner_id)
        guild.members.setdefault(owner_id, Member(user_id=owner_id))
        return guild

    def add_role(
        self, guild_id: int, role_id: int, name: str, permissions: int, *, position: int | None = None
    ) -> Role:
        """Add a role; position defaults to above every existing role."""
        guild = self.guilds[guild_id]
        pos = position if position is not None else len(guild.roles)
        role = Role(id=role_id, name=name, permissions=permissions, position=pos)
        guild.roles[role_id] = role
        return role

    def add_member(
        self,
        guild_id: int,
        user_id: int,
        username: str | None = None,
        roles: list[int] | None = None,
        *,
        bot: bool = False,
    ) -> Member:
        """Add (or update) a guild member, creating the user when needed."""
        if username is not None or user_id not in self.users:
            self.add_user(user_id, username or f"user{user_id}", bot=bot)
        member = Member(user_id=user_id, roles=list(roles or []))
        self.guilds[guild_id].members[user_id] = member
        return member

    def add_member_with(
        self,
        guild_id: int,
        *,
        permissions: int = 0,
        roles: list[int] | None = None,
        user_id: int | None = None,
        username: str | None = None,
    ) -> int:
        """A member (a new user unless user_id is given) holding `roles` plus, when permissions
        is non-zero, a new role granting them; returns the user id."""
        uid = user_id if user_id is not None else self.snowflakes.next()
        role_ids = list(roles or [])
        if permissions:
            role = self.add_role(guild_id, self.snowflakes.next(), f"role-{permissions:x}", permissions)
            role_ids.append(role.id)
        self.add_member(guild_id, uid, username, role_ids)
        return uid

    def add_channel(self, guild_id: int, channel_id: int, name: str, *, topic: str | None = None) -> Channel:
        """Add a text channel to a guild."""
        guild = self.guilds[guild_id]
        channel = Channel(id=channel_id, name=name, guild_id=guild_id, position=len(guild.channels), topic=topic)
        guild.channels[channel_id] = channel
        self.channels[channel_id] = channel
        return channel

    def dm_channel(self, user_id: int) -> Channel:
        """The (stable) DM channel between the bot and a user, created on first use."""
        channel = self.dm_channels.get(user_id)
        if channel is None:
            channel = Channel(id=self.snowflakes.next(), name=None, type=CHANNEL_DM, recipient_id=user_id)
            self.dm_channels[user_id] = channel
            self.channels[channel.id] = channel
        return channel

    def channel(self, channel_id: int) -> Channel | None:
        """Any known channel by id."""
        return self.channels.get(channel_id)

    def permissions(self, guild_id: int, user_id: int) -> int:
        """Guild-level permissions as Discord computes them (owner and Administrator get all)."""
        guild = self.guilds[guild_id]
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        value = guild.roles[guild_id].permissions
        member = guild.members.get(user_id)
        for role_id in member.roles if member else []:
            role = guild.roles.get(role_id)
            if role is not None:
                value |= role.permissions
        return ALL_PERMISSIONS if value & ADMINISTRATOR else value


BOT_ROLE_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | USE_EXTERNAL_EMOJIS
    | SEND_MESSAGES_IN_THREADS
    | USE_APPLICATION_COMMANDS
)


@dataclass(frozen=True)
class DefaultIds:
    """Ids of the default world, so tests can say `fake.ids.admin` instead of magic numbers."""

    guild: int = 811111111111111111
    channel: int = 822222222222222222
    owner: int = 833333333333333331
    admin: int = 833333333333333332
    member: int = 833333333333333333
    admin_role: int = 844444444444444441
    bot_role: int = 844444444444444442


def populate_default_world(
    world: World,
    bot_user_id: int,
    ids: DefaultIds = DefaultIds(),
    *,
    guild_name: str = "Story Guild",
    user_prefix: str = "",
) -> DefaultIds:
    """One guild: an owner, an admin (Manage Server via a role), a plain member, #general, the bot.

    Called again with fresh ids (and a user_prefix, as usernames are unique) for further guilds."""
    world.add_user(ids.owner, f"{user_prefix}owner")
    world.add_user(ids.admin, f"{user_prefix}admin")
    world.add_user(ids.member, f"{user_prefix}member")
    world.add_guild(ids.guild, guild_name, ids.owner)
    world.add_role(ids.guild, ids.admin_role, "Moderators", MANAGE_GUILD)
    bot_role = world.add_role(ids.guild, ids.bot_role, world.user(bot_user_id).username, BOT_ROLE_PERMISSIONS)
    bot_role.managed = True
    world.add_member(ids.guild, ids.admin, roles=[ids.admin_role])
    world.add_member(ids.guild, ids.member)
    world.add_member(ids.guild, bot_user_id, roles=[ids.bot_role])
    world.add_channel(ids.guild, ids.channel, "general")
    return ids


def fresh_ids(snowflakes: SnowflakeGenerator) -> DefaultIds:
    """DefaultIds for another guild shaped like the default one, every id new."""
    return DefaultIds(**{name: snowflakes.next() for name in DefaultIds.__dataclass_fields__})
