"""The one error fetching raises: every refusal, and every failure, as one line a moderator can read."""

from __future__ import annotations

from index.errors import StorybotError

MAX_SHOWN_URL_CHARS = 120


def shorten_url(url: str) -> str:
    """A link as messages show it: cut short, so a hostile kilobyte-long link cannot flood a reply."""
    url = url.strip()
    return url if len(url) <= MAX_SHOWN_URL_CHARS else url[: MAX_SHOWN_URL_CHARS - 1] + "…"


class FetchRefused(StorybotError):
    """A link storybot will not fetch, or could not: `reason` says why in one line, safe to show.

    It subclasses the engine's `StorybotError` (not `bot.errors.UserFacingError`, which imports
    discord.py) so the command line, which never imports discord.py, can catch it too. The message
    is `"<url>: <reason>"` once the link is known, like the corpus errors' `"<file>: <problem>"`.
    """

    def __init__(self, reason: str, url: str | None = None) -> None:
        self.reason = reason
        self.url = url
        super().__init__(f"{shorten_url(url)}: {reason}" if url else reason)
