"""Pure builders of the JSON payloads Discord sends (API v10).

Field sets follow Discord's documented objects and what discord.py 2.7 reads (it indexes
some keys directly, e.g. member.flags, interaction.attachment_size_limit), so a missing key
here would crash the real client rather than silently pass.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .world import (
    CHANNEL_DM,
    Channel,
    Guild,
    Member,
    Role,
    User,
    World,
    iso,
    snowflake_time,
)

JSON = dict[str, Any]

MESSAGE_FLAG_EPHEMERAL = 1 << 6
MESSAGE_FLAG_LOADING = 1 << 7
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


def now_iso() -> str:
    """Current time in Discord's timestamp format."""
    return iso(datetime.now(UTC))


def user_payload(user: User) -> JSON:
    """A user object."""
    data: JSON = {
        "id": str(user.id),
        "username": user.username,
        "discriminator": "0",
        "global_name": user.global_name,
        "avatar": user.avatar,
        "avatar_decoration_data": None,
        "public_flags": 0,
        "flags": 0,
        "banner": None,
        "accent_color": None,
        "primary_guild": None,
        "collectibles": None,
    }
    if user.bot:
        data["bot"] = True
    return data


def role_payload(role: Role) -> JSON:
    """A role object."""
    return {
        "id": str(role.id),
        "name": role.name,
        "description": None,
        "color": role.color,
        "colors": {"primary_color": role.color, "secondary_color": None, "tertiary_color": None},
        "hoist": role.hoist,
        "icon": None,
        "unicode_emoji": None,
        "position": role.position,
        "permissions": str(role.permissions),
        "managed": role.managed,
        "mentionable": role.mentionable,
        "flags": 0,
    }


def member_payload(member: Member, user: User | None, *, permissions: int | None = None) -> JSON:
    """A guild member; user None gives the partial form used in MESSAGE_CREATE and resolved data."""
    data: JSON = {
        "roles": [str(r) for r in member.roles],
        "nick": member.nick,
        "avatar": None,
        "banner": None,
        "joined_at": member.joined_at,
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
        "avatar_decoration_data": None,
    }
    if user is not None:
        data["user"] = user_payload(user)
    if permissions is not None:
        data["permissions"] = str(permissions)
    return data


def channel_payload(channel: Channel, world: World, *, permissions: int | None = None) -> JSON:
    """A guild text channel or a DM channel object."""
    if channel.type == CHANNEL_DM:
        recipient = world.user(channel.recipient_id or 0)
        return {
            "id": str(channel.id),
            "type": CHANNEL_DM,
            "last_message_id": None,
            "flags": 0,
            "recipients": [user_payload(recipient)],
            "recipient_flags": 0,
        }
    data: JSON = {
        "id": str(channel.id),
        "type": channel.type,
        "guild_id": str(channel.guild_id),
        "name": channel.name,
        "position": channel.position,
        "permission_overwrites": [],
        "topic": channel.topic,
        "nsfw": channel.nsfw,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "parent_id": str(channel.parent_id) if channel.parent_id else None,
        "flags": 0,
    }
    if permissions is not None:
        data["permissions"] = str(permissions)
    return data


def guild_create_payload(guild: Guild, world: World, *, member_ids: list[int]) -> JSON:
    """A GUILD_CREATE dispatch body with only the listed members (Discord trims by intents)."""
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(guild.owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "premium_progress_bar_enabled": False,
        "preferred_locale": guild.locale,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "safety_alerts_channel_id": None,
        "vanity_url_code": None,
        "application_id": None,
        "features": list(guild.features),
        "max_members": 500000,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
        "incidents_data": None,
        "roles": [role_payload(r) for r in guild.roles.values()],
        "emojis": [],
        "stickers": [],
        "joined_at": now_iso(),
        "large": len(guild.members) >= 250,
        "lazy": True,
        "unavailable": False,
        "member_count": len(guild.members),
        "members": [member_payload(guild.members[m], world.user(m)) for m in member_ids if m in guild.members],
        "channels": [channel_payload(c, world) for c in guild.channels.values()],
        "threads": [],
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "embedded_activities": [],
        "activity_instances": [],
    }


def ready_payload(
    *,
    bot: User,
    guild_ids: list[int],
    session_id: str,
    resume_gateway_url: str,
    application_id: int,
    application_flags: int,
    shard: list[int] | None,
) -> JSON:
    """The READY dispatch body; guilds start unavailable and arrive as GUILD_CREATE."""
    data: JSON = {
        "v": 10,
        "user": {**user_payload(bot), "verified": True, "mfa_enabled": False, "email": None},
        "guilds": [{"id": str(g), "unavailable": True} for g in guild_ids],
        "session_id": session_id,
        "session_type": "normal",
        "resume_gateway_url": resume_gateway_url,
        "application": {"id": str(application_id), "flags": application_flags},
        "private_channels": [],
        "relationships": [],
        "presences": [],
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": ["local"],
        "user_settings": {},
        "auth": {},
        "_trace": ['["fake-discord-gateway",{"micros":1}]'],
    }
    if shard is not None:
        data["shard"] = shard
    return data


def application_payload(*, application_id: int, name: str, owner: User, bot: User, flags: int) -> JSON:
    """GET /oauth2/applications/@me."""
    return {
        "id": str(application_id),
        "name": name,
        "icon": None,
        "description": "",
        "summary": "",
        "type": None,
        "hook": True,
        "bot_public": True,
        "bot_require_code_grant": False,
        "verify_key": "0" * 64,
        "owner": user_payload(owner),
        "team": None,
        "flags": flags,
        "bot": user_payload(bot),
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "role_connections_verification_url": None,
        "tags": [],
        "install_params": None,
        "integration_types_config": {"0": {}, "1": {}},
        "approximate_guild_count": 1,
        "approximate_user_install_count": 0,
        "rpc_origins": [],
    }


def error_payload(code: int, message: str, errors: JSON | None = None) -> JSON:
    """Discord's JSON error body."""
    data: JSON = {"message": message, "code": code}
    if errors is not None:
        data["errors"] = errors
    return data


def rate_limit_payload(retry_after: float, is_global: bool) -> JSON:
    """The 429 body Discord sends."""
    return {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}


def interaction_metadata(
    *, interaction_id: int, interaction_type: int, user: User, owners: JSON, name: str | None, command_type: int | None
) -> JSON:
    """interaction_metadata on messages that answer an interaction."""
    data: JSON = {
        "id": str(interaction_id),
        "type": interaction_type,
        "user": user_payload(user),
        "authorizing_integration_owners": owners,
    }
    if name is not None:
        data["name"] = name
    if command_type is not None:
        data["command_type"] = command_type
    return data


def normalize_embeds(embeds: list[JSON] | None) -> list[JSON]:
    """Embeds as Discord echoes them back (type defaults to rich)."""
    return [{"type": "rich", **e} for e in embeds or []]


def message_payload(
    *,
    message_id: int,
    channel_id: int,
    author: User,
    content: str = "",
    embeds: list[JSON] | None = None,
    components: list[JSON] | None = None,
    attachments: list[JSON] | None = None,
    mentions: list[JSON] | None = None,
    flags: int = 0,
    message_type: int = 0,
    message_reference: JSON | None = None,
    referenced_message: JSON | None = None,
    webhook_id: int | None = None,
    application_id: int | None = None,
    extra: JSON | None = None,
) -> JSON:
    """A message object as REST returns it (gateway adds guild_id/member on top)."""
    data: JSON = {
        "id": str(message_id),
        "type": message_type,
        "channel_id": str(channel_id),
        "author": user_payload(author),
        "content": content,
        "timestamp": iso(snowflake_time(message_id)),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": mentions or [],
        "mention_roles": [],
        "attachments": attachments or [],
        "embeds": normalize_embeds(embeds),
        "components": components or [],
        "pinned": False,
        "flags": flags,
    }
    if message_reference is not None:
        data["message_reference"] = message_reference
        data["referenced_message"] = referenced_message
    if webhook_id is not None:
        data["webhook_id"] = str(webhook_id)
    if application_id is not None:
        data["application_id"] = str(application_id)
    if extra:
        data.update(extra)
    return data


def callback_response_payload(
    *, interaction_id: int, interaction_type: int, callback_type: int, message: JSON | None
) -> JSON:
    """Body of POST /interactions/{id}/{token}/callback?with_response=true."""
    inner: JSON = {"id": str(interaction_id), "type": interaction_type}
    if message is not None:
        flags = int(message.get("flags", 0))
        inner["response_message_id"] = message["id"]
        inner["response_message_loading"] = bool(flags & MESSAGE_FLAG_LOADING)
        inner["response_message_ephemeral"] = bool(flags & MESSAGE_FLAG_EPHEMERAL)
    resource: JSON = {"type": callback_type}
    if message is not None:
        resource["message"] = message
    return {"interaction": inner, "resource": resource}


def command_payload(
    definition: JSON, *, command_id: int, application_id: int, guild_id: int | None, version: int
) -> JSON:
    """An application command as Discord returns it from the commands endpoints."""
    command_type = int(definition.get("type", 1))
    perms = definition.get("default_member_permissions")
    data: JSON = {
        "id": str(command_id),
        "application_id": str(application_id),
        "version": str(version),
        "type": command_type,
        "name": definition["name"],
        "name_localizations": definition.get("name_localizations"),
        "description": definition.get("description", ""),
        "description_localizations": definition.get("description_localizations"),
        "default_member_permissions": None if perms is None else str(perms),
        "nsfw": bool(definition.get("nsfw", False)),
    }
    if definition.get("options"):
        data["options"] = definition["options"]
    if guild_id is not None:
        data["guild_id"] = str(guild_id)
    else:
        data["dm_permission"] = definition.get("dm_permission", True)
        data["contexts"] = definition.get("contexts")
        data["integration_types"] = definition.get("integration_types") or [0]
    return data


def interaction_payload(
    *,
    interaction_id: int,
    application_id: int,
    interaction_type: int,
    token: str,
    data: JSON,
    user: User,
    channel: JSON,
    guild: Guild | None,
    member: JSON | None,
    app_permissions: int,
    locale: str = "en-US",
    message: JSON | None = None,
) -> JSON:
    """An INTERACTION_CREATE body; guild interactions carry member, DMs carry user."""
    payload: JSON = {
        "id": str(interaction_id),
        "application_id": str(application_id),
        "type": interaction_type,
        "data": data,
        "channel_id": channel["id"],
        "channel": channel,
        "token": token,
        "version": 1,
        "app_permissions": str(app_permissions),
        "locale": locale,
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
    }
    if guild is not None:
        payload["guild_id"] = str(guild.id)
        payload["guild"] = {"id": str(guild.id), "locale": guild.locale, "features": list(guild.features)}
        payload["guild_locale"] = guild.locale
        payload["member"] = member
        payload["authorizing_integration_owners"] = {"0": str(guild.id)}
        payload["context"] = 0
    else:
        payload["user"] = user_payload(user)
        payload["authorizing_integration_owners"] = {"0": "0"}
        payload["context"] = 1
    if message is not None:
        payload["message"] = message
    return payload
