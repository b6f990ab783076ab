"""Fetch one link safely: http(s) only, public addresses only, bounded in time, size and redirects.

`fetch_document` runs on the bot's event loop; `fetch_document_sync` is the command line's way in.
Every refusal and every failure is a `FetchRefused` naming the link and the reason in one line.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from bot.fetching.errors import FetchRefused, shorten_url
from bot.fetching.policy import ACCEPT, ACCEPTED_TYPES, USER_AGENT, FetchedDocument, FetchPolicy
from bot.fetching.resolver import CheckingResolver
from bot.fetching.urls import check_url, parse_url

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK_BYTES = 64 * 1024
READABLE_TYPES = "HTML, plain text, Markdown and PDF"
MAX_SHOWN_TYPE_CHARS = 80  # the server writes the type: a refusal shows only this much of it


async def fetch_document(
    url: str, policy: FetchPolicy | None = None, *, resolver: AbstractResolver | None = None
) -> FetchedDocument:
    """GET `url`, following at most `policy.max_redirects` redirects, each checked like the link itself.

    `resolver` is the name lookup beneath the address checks (getaddrinfo when None); tests pass a
    fake one. Raises FetchRefused, never an aiohttp error.
    """
    policy = policy or FetchPolicy()
    try:
        start = check_url(parse_url(url), allow_loopback=policy.allow_loopback)
        async with asyncio.timeout(policy.timeout_seconds):
            return await _follow(start, policy, resolver)
    except FetchRefused as exc:
        raise FetchRefused(exc.reason, url=url) from None
    except TimeoutError:  # before ClientError: aiohttp's own timeouts are both
        reason = f"timed out: no complete answer within {policy.timeout_seconds:g} seconds"
        raise FetchRefused(reason, url=url) from None
    except aiohttp.ClientError as exc:
        raise FetchRefused(_client_error_reason(exc), url=url) from None


def fetch_document_sync(
    url: str, policy: FetchPolicy | None = None, *, resolver: AbstractResolver | None = None
) -> FetchedDocument:
    """`fetch_document` for plain code such as the command line; it runs its own event loop."""
    return asyncio.run(fetch_document(url, policy, resolver=resolver))


def _session(policy: FetchPolicy, resolver: AbstractResolver | None) -> aiohttp.ClientSession:
    """A session for one fetch: checked lookups, no DNS cache, no cookies kept, no proxy from the environment."""
    connector = aiohttp.TCPConnector(
        resolver=CheckingResolver(allow_loopback=policy.allow_loopback, inner=resolver),
        use_dns_cache=False,
        ssl=True,  # certificates verified against the system's trust store
    )
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        headers={"User-Agent": USER_AGENT, "Accept": ACCEPT},
        timeout=aiohttp.ClientTimeout(total=policy.timeout_seconds),
        raise_for_status=False,
    )


async def _follow(start: URL, policy: FetchPolicy, resolver: AbstractResolver | None) -> FetchedDocument:
    """Request, and follow redirects by hand so every hop passes `check_url` before it is requested."""
    url = start
    async with _session(policy, resolver) as session:
        for _ in range(policy.max_redirects + 1):
            async with session.get(url, allow_redirects=False) as response:
                target = _redirect_target(response, url)
                if target is None:
                    return await _read_document(response, policy)
            try:
                url = check_url(target, allow_loopback=policy.allow_loopback)
            except FetchRefused as exc:
                raise FetchRefused(f"it redirects to {shorten_url(str(target))}, and {exc.reason}") from None
    raise FetchRefused(f"more than {policy.max_redirects} redirects")


def _redirect_target(response: aiohttp.ClientResponse, url: URL) -> URL | None:
    """Where a redirect points, resolved against `url`; None for a response that is no redirect."""
    if response.status not in REDIRECT_STATUSES:
        return None
    location = response.headers.get("Location", "").strip()
    if not location:
        raise FetchRefused(f"the server answered {response.status} without saying where to (no Location)")
    try:
        return url.join(URL(location))
    except (ValueError, TypeError):
        raise FetchRefused(f"it redirects to something that is not a link: {shorten_url(location)!r}") from None


async def _read_document(response: aiohttp.ClientResponse, policy: FetchPolicy) -> FetchedDocument:
    """Check status, type and size, then read the body, stopping as soon as it passes the limit."""
    if not 200 <= response.status < 300:
        raise FetchRefused(f"the server answered {_status_text(response.status)}")
    if "Content-Type" not in response.headers:
        raise FetchRefused(f"the server did not say what type of document it is; storybot reads {READABLE_TYPES}")
    media_type = response.content_type.lower()
    if media_type not in ACCEPTED_TYPES:
        raise FetchRefused(f"it is {media_type[:MAX_SHOWN_TYPE_CHARS]}, and storybot reads only {READABLE_TYPES}")
    limit = policy.max_bytes
    if response.content_length is not None and response.content_length > limit:
        raise FetchRefused(f"it is {response.content_length:,} bytes, more than the {limit:,} allowed")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            raise FetchRefused(f"it is larger than the {limit:,} bytes allowed")
        chunks.append(chunk)
    return FetchedDocument(
        url=str(response.url), content_type=media_type, charset=response.charset, body=b"".join(chunks)
    )


def _status_text(status: int) -> str:
    """`404 Not Found`: the standard phrase, not the server's own (which could say anything)."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _client_error_reason(exc: aiohttp.ClientError) -> str:
    """aiohttp's error as one line for people; its own text can be long and technical."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"the host {exc.host} could not be found (DNS lookup failed)"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"the TLS certificate of {exc.host} could not be verified"
    if isinstance(exc, aiohttp.ClientSSLError):
        return f"a secure (TLS) connection to {exc.host} failed"
    if isinstance(exc, aiohttp.ClientConnectorError):
        why = "connection refused" if isinstance(exc.os_error, ConnectionRefusedError) else "connection failed"
        return f"could not connect to {exc.host} port {exc.port}: {why}"
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return "the connection broke off before the whole document arrived"
    if isinstance(exc, aiohttp.InvalidURL):
        return "this is not a valid link"
    if isinstance(exc, aiohttp.ClientResponseError):
        return "the server's answer could not be read"
    return f"it could not be fetched ({type(exc).__name__})"
