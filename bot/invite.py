"""The OAuth2 invite URL and the application id hidden in a bot token. Pure: no discord import."""

from __future__ import annotations

import base64
import binascii

# Permission bits (https://discord.com/developers/docs/topics/permissions): what answering needs.
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
READ_MESSAGE_HISTORY = 1 << 16  # replies to a message reference it
SEND_MESSAGES_IN_THREADS = 1 << 38

PERMISSIONS = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | READ_MESSAGE_HISTORY | SEND_MESSAGES_IN_THREADS
SCOPES = ("bot", "applications.commands")
AUTHORIZE_URL = "https://discord.com/oauth2/authorize"


def invite_url(application_id: int, permissions: int = PERMISSIONS) -> str:
    """The URL a server admin opens to add the bot, with its slash commands and minimal permissions."""
    return f"{AUTHORIZE_URL}?client_id={application_id}&scope={'+'.join(SCOPES)}&permissions={permissions}"


def application_id_from_token(token: str) -> int | None:
    """The bot's id from its token (the first dot-separated part is the base64 of the id), or None."""
    first = token.strip().split(".", 1)[0]
    if not first:
        return None
    try:
        decoded = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return int(decoded) if decoded.isdigit() and 15 <= len(decoded) <= 21 else None
