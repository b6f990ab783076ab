"""A loopback stand-in for Discord's CDN: attachment bytes served at the URLs payloads carry.

Users' uploads (attachment options, message attachments) and the bot's own uploads get an
attachment object whose ``url``/``proxy_url`` point here, so discord.py's ``Attachment.read()``
downloads them over HTTP exactly as it would from cdn.discordapp.com. What the payload
*claims* (size, content type) comes from the test and may differ from what is served, so a bot
that trusts the claim instead of checking the bytes can be caught.
"""

from __future__ import annotations

import hashlib
import mimetypes
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from aiohttp import web

JSON = dict[str, Any]

AUTO = "auto"
"""Upload.content_type default: what Discord would infer from the filename."""
CDN_PREFIXES = ("/attachments/", "/ephemeral-attachments/", "/media/")
"""Paths the fake serves as CDN (no bot token, not recorded as API requests)."""
GONE_TEXT = "This content is no longer available."
LINK_LIFETIME_S = 24 * 3600


def guess_content_type(filename: str) -> str | None:
    """Discord's inferred media type: by extension, text types tagged utf-8."""
    guessed, _ = mimetypes.guess_type(filename)
    if guessed is None:
        return None
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


def cdn_filename(filename: str) -> str:
    """Discord stores uploads with spaces turned into underscores."""
    return filename.replace(" ", "_")


@dataclass(frozen=True)
class Upload:
    """A file a simulated user uploads: the bytes served, and what the payload will claim.

    content_type: the attachment object's claim (AUTO guesses from the filename, None omits
    it, as Discord does for unknown types). size: the claimed size (None: the real length).
    served_type: the CDN's Content-Type header (None: the claim). status: the CDN's answer
    (404 for an expired link, 403, 500). extra: more attachment fields (width, height, ...).
    """

    data: bytes
    filename: str = "upload.txt"
    content_type: str | None = AUTO
    size: int | None = None
    served_type: str | None = None
    status: int = 200
    extra: JSON = field(default_factory=dict)

    @classmethod
    def from_spec(cls, spec: Upload | JSON) -> Upload:
        """An Upload, or a dict of its fields (data defaults to b"" for metadata-only tests)."""
        if isinstance(spec, Upload):
            return spec
        known = {k: v for k, v in spec.items() if k in cls.__dataclass_fields__}
        return cls(**{"data": b"", **known})


@dataclass
class StoredFile:
    """One attachment the CDN can serve."""

    attachment_id: int
    channel_id: int
    filename: str
    data: bytes
    served_type: str | None
    status: int
    kind: str
    signature: JSON


class Cdn:
    """Attachment bytes by id, the attachment objects pointing at them, and a log of downloads."""

    def __init__(self, base_url: Callable[[], str], next_id: Callable[[], int]) -> None:
        self._base_url = base_url
        self._next_id = next_id
        self.files: dict[int, StoredFile] = {}
        self.requests: list[JSON] = []

    def add(self, upload: Upload | JSON, *, channel_id: int, ephemeral: bool, max_size: int | None = None) -> JSON:
        """Store an upload; returns the attachment object a payload carries for it.

        ephemeral: an attachment option's file (Discord serves it from ephemeral-attachments/).
        max_size: what the user's client lets them upload (ValueError beyond it).
        """
        up = Upload.from_spec(upload)
        if max_size is not None and len(up.data) > max_size:
            raise ValueError(f"{up.filename}: {len(up.data)} bytes; a user cannot upload more than {max_size}")
        attachment_id = self._next_id()
        filename = cdn_filename(up.filename)
        claimed = guess_content_type(up.filename) if up.content_type == AUTO else up.content_type
        kind = "ephemeral-attachments" if ephemeral else "attachments"
        now = int(time.time())
        signature = {
            "ex": f"{now + LINK_LIFETIME_S:x}",
            "is": f"{now:x}",
            "hm": hashlib.sha256(f"{attachment_id}/{filename}".encode()).hexdigest(),
        }
        self.files[attachment_id] = StoredFile(
            attachment_id=attachment_id,
            channel_id=channel_id,
            filename=filename,
            data=up.data,
            served_type=up.served_type or claimed,
            status=up.status,
            kind=kind,
            signature=signature,
        )
        path = f"{kind}/{channel_id}/{attachment_id}/{quote(filename)}"
        query = "&".join(f"{k}={v}" for k, v in signature.items()) + "&"
        attachment: JSON = {
            "id": str(attachment_id),
            "filename": filename,
            "size": len(up.data) if up.size is None else up.size,
            "url": f"{self._base_url()}/{path}?{query}",
            "proxy_url": f"{self._base_url()}/media/{path}?{query}",
        }
        if claimed is not None:
            attachment["content_type"] = claimed
        if filename != up.filename:
            attachment["title"] = up.filename.rsplit(".", 1)[0]
        if ephemeral:
            attachment["ephemeral"] = True
        attachment.update(up.extra)
        return attachment

    def add_bot_file(self, file: JSON, *, channel_id: int, filename: str, description: str | None) -> JSON:
        """An attachment object for a file the bot uploaded (a multipart part with its bytes).

        discord.py labels every part application/octet-stream; Discord infers the type from the name."""
        attachment = self.add(
            Upload(data=file["data"], filename=filename),
            channel_id=channel_id,
            ephemeral=False,
        )
        attachment["description"] = description
        return attachment

    def register(self, app: web.Application) -> None:
        for prefix in ("", "/media"):
            for kind in ("attachments", "ephemeral-attachments"):
                app.router.add_get(f"{prefix}/{kind}/{{channel_id}}/{{attachment_id}}/{{filename}}", self.serve)

    async def serve(self, request: web.Request) -> web.Response:
        """GET an attachment; unknown, mismatched or unsigned links answer 404 like the CDN."""
        info = request.match_info
        stored = self.files.get(int(info["attachment_id"])) if info["attachment_id"].isdigit() else None
        entry: JSON = {
            "path": request.path,
            "attachment_id": stored.attachment_id if stored else None,
            "proxy": request.path.startswith("/media/"),
            "status": 404,
            "time": time.monotonic(),
        }
        self.requests.append(entry)
        kind = request.path.removeprefix("/media").split("/")[1]
        if (
            stored is None
            or kind != stored.kind
            or info["channel_id"] != str(stored.channel_id)
            or info["filename"] != stored.filename
            or any(request.query.get(k) != v for k, v in stored.signature.items())
        ):
            return web.Response(status=404, text=GONE_TEXT)
        entry["status"] = stored.status
        if stored.status != 200:
            return web.Response(status=stored.status, text=GONE_TEXT if stored.status == 404 else "error")
        headers = {"Content-Type": stored.served_type or "application/octet-stream"}
        return web.Response(body=stored.data, headers=headers)

    def downloads(self, attachment: JSON | int | str) -> list[JSON]:
        """Logged requests for one attachment (object or id)."""
        attachment_id = int(attachment["id"]) if isinstance(attachment, dict) else int(attachment)
        return [r for r in self.requests if r["attachment_id"] == attachment_id]
