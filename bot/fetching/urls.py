"""Which links may be fetched at all, decided before any lookup or connection, for the first link and every redirect."""

from __future__ import annotations

import re

from yarl import URL

from bot.fetching.addresses import address_refusal, literal_address
from bot.fetching.errors import FetchRefused

SCHEMES = ("http", "https")
MAX_URL_CHARS = 2048
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")  # after IDNA encoding, as yarl gives it


def parse_url(text: str) -> URL:
    """`text` as a URL, or FetchRefused when it is not one."""
    text = text.strip()
    if len(text) > MAX_URL_CHARS:
        raise FetchRefused(f"the link is longer than {MAX_URL_CHARS:,} characters")
    try:
        return URL(text)
    except (ValueError, TypeError):
        raise FetchRefused("this is not a valid link") from None


def check_url(url: URL, *, allow_loopback: bool = False) -> URL:
    """The URL to request: http(s), no credentials, and a host that is a name or an allowed address.

    A literal address is rewritten to its usual form (`http://2130706433/` → `http://127.0.0.1/`),
    so what is connected to is what was checked. Names are checked after lookup, by the resolver.
    """
    scheme = url.scheme.lower()
    if not scheme:
        raise FetchRefused("not a full link: it must start with http:// or https://")
    if scheme not in SCHEMES:
        raise FetchRefused(f"only http and https links can be fetched, not {scheme}:")
    if "@" in (url.raw_authority or ""):
        raise FetchRefused("links with a user name or password in them (user:pass@) are refused")
    host, raw_host = url.host, url.raw_host
    if not host or not raw_host:
        raise FetchRefused("the link has no host")
    try:
        address = literal_address(host)
    except ValueError:
        raise FetchRefused(f"{host!r} is not a valid IP address") from None
    if address is None:
        if not _HOST_NAME.fullmatch(raw_host) or len(raw_host) > 253:
            raise FetchRefused(f"{host!r} is not a valid host name")
        return url.with_fragment(None)
    reason = address_refusal(address, allow_loopback=allow_loopback)
    if reason is not None:
        raise FetchRefused(reason)
    return url.with_host(str(address)).with_fragment(None)
