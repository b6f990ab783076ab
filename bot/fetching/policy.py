"""What a fetch may do (time, size, redirects, loopback) and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import __version__

if TYPE_CHECKING:
    from bot.settings import Settings

ACCEPTED_TYPES = ("text/html", "application/xhtml+xml", "text/markdown", "text/plain", "application/pdf")
"""Media types storybot can turn into a story; a response of any other type is refused, by name."""

ACCEPT = "text/html, application/xhtml+xml, text/markdown, text/plain;q=0.9, application/pdf;q=0.8"
USER_AGENT = f"storybot/{__version__} (self-hosted Discord bot; fetches news stories its moderators add)"

DEFAULT_TIMEOUT_SECONDS = 20.0
DEFAULT_MAX_BYTES = 20 * 1024 * 1024  # as large as a story file in the corpus may be
DEFAULT_MAX_REDIRECTS = 5


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """Limits of one fetch. The defaults are safe; build it from settings with `from_settings`."""

    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    """For the whole fetch: every lookup, connection, redirect and byte of the body."""
    max_bytes: int = DEFAULT_MAX_BYTES
    """Largest body accepted, counted after decompression (so a zip bomb stops at the limit too)."""
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    allow_loopback: bool = False
    """Let links reach this machine (127.0.0.0/8, ::1): for tests. Private ranges stay refused."""

    def __post_init__(self) -> None:
        if self.timeout_seconds <= 0 or self.max_bytes <= 0 or self.max_redirects < 0:
            raise ValueError(f"impossible fetch limits: {self!r}")

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        return cls(
            timeout_seconds=settings.fetch_timeout_seconds,
            max_bytes=settings.max_story_bytes,
            max_redirects=settings.fetch_max_redirects,
            allow_loopback=settings.fetch_allow_loopback,
        )


@dataclass(frozen=True, slots=True)
class FetchedDocument:
    """A fetched page or PDF, undecoded: what comes next (HTML, text or PDF extraction) picks the decoding."""

    url: str
    """The final URL, after redirects: the story's source."""
    content_type: str
    """The media type, lower case, without parameters: one of `ACCEPTED_TYPES`."""
    charset: str | None
    """The charset the server named in Content-Type, if any."""
    body: bytes

    def __repr__(self) -> str:  # the body can be megabytes: never print it whole
        return f"FetchedDocument(url={self.url!r}, content_type={self.content_type!r}, bytes={len(self.body)})"
