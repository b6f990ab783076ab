"""Name lookup that refuses blocked addresses, so the addresses checked are the ones connected to.

aiohttp's connector connects only to the addresses its resolver returns (numeric, never looked
up again), and fetching gives every session a fresh connector without a DNS cache. Checking here,
rather than resolving once beforehand and connecting by name later, leaves no gap for a name
that answers a public address to the check and a private one to the connection (DNS rebinding).
"""

from __future__ import annotations

import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from bot.fetching.addresses import resolved_refusal
from bot.fetching.errors import FetchRefused


class CheckingResolver(AbstractResolver):
    """Resolves with `inner` (getaddrinfo by default) and refuses the host unless every address is allowed."""

    def __init__(self, *, allow_loopback: bool = False, inner: AbstractResolver | None = None) -> None:
        self.allow_loopback = allow_loopback
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if self._inner is None:
            self._inner = ThreadedResolver()  # needs the running loop, so made on first use
        results = await self._inner.resolve(host, port, family)  # OSError: aiohttp reports a DNS failure
        reason = resolved_refusal(host, (result["host"] for result in results), allow_loopback=self.allow_loopback)
        if reason is not None:
            raise FetchRefused(reason)  # not an OSError: aiohttp lets it through unchanged
        return results

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()
