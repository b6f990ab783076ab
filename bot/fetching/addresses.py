"""Which addresses storybot may connect to: public ones only. Pure functions, tested directly.

A link must not make the bot reach into its own machine or network (SSRF): loopback, private,
link-local (cloud metadata at 169.254.169.254), carrier-grade NAT, multicast, unspecified,
reserved and every other non-global address is refused, including IPv6 addresses that carry an
IPv4 address inside them (IPv4-mapped, NAT64, 6to4). Literal hosts are read the way a resolver
reads them, so `2130706433`, `0x7f.1` and `017700000001` are all 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_PRIVATE = tuple(ipaddress.ip_network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, RFC 6598
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are an IPv4 address
_CLOUD_METADATA = ipaddress.ip_address("169.254.169.254")
_BROADCAST = ipaddress.ip_address("255.255.255.255")
_NUMBER = re.compile(r"0x[0-9a-f]*|[0-9]+", re.IGNORECASE)


def _kind(address: IPAddress, allow_loopback: bool) -> str | None:
    """What makes `address` off limits, as a noun phrase, or None for a public address."""
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    checks: tuple[tuple[bool, str], ...] = (
        (address.is_unspecified, "the unspecified address"),
        (address == _CLOUD_METADATA, "the cloud metadata address (link-local)"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (any(address in net for net in _PRIVATE), "a private address"),
        (address in _SHARED, "a carrier-grade NAT (shared) address"),
        (address == _BROADCAST, "the broadcast address"),
        (isinstance(address, ipaddress.IPv6Address) and address.is_site_local, "a site-local address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private or not address.is_global, "a special-purpose address, not a public one"),
    )
    return next((kind for blocked, kind in checks if blocked), None)


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (IPv4-mapped, NAT64, 6to4), or None."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def address_refusal(address: IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why storybot may not connect to `address` (e.g. "127.0.0.1 is a loopback address"), or None."""
    inner = embedded_ipv4(address)
    if inner is not None:
        kind = _kind(inner, allow_loopback)
        return None if kind is None else f"{address} stands for {inner}, {kind}"
    kind = _kind(address, allow_loopback)
    return None if kind is None else f"{address} is {kind}"


def resolved_refusal(host: str, addresses: Iterable[str], *, allow_loopback: bool = False) -> str | None:
    """Why the addresses `host` resolved to may not be used, or None: every one of them must be allowed."""
    shown = list(addresses)
    if not shown:
        return f"{host} has no addresses"
    for text in shown:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return f"{host} resolves to {text!r}, which is not an IP address"
        reason = address_refusal(address, allow_loopback=allow_loopback)
        if reason is not None:
            return f"{host} resolves to a blocked address: {reason}"
    return None


def _ipv4_number(label: str) -> int:
    """One part of a numeric IPv4 host: decimal, octal with a leading 0, or hex with 0x (as inet_aton reads it)."""
    lower = label.lower()
    if lower.startswith("0x"):
        return int(lower[2:] or "0", 16)
    if len(lower) > 1 and lower.startswith("0"):
        return int(lower, 8)
    return int(lower, 10)


def literal_address(host: str) -> IPAddress | None:
    """The address a URL's host names literally, in any form a resolver accepts, or None for a name.

    As in the WHATWG URL standard, a host whose last label is a number is an IPv4 address (no
    top-level domain is numeric): one to four parts, each decimal, octal or hex, the last filling
    the remaining bytes. Raises ValueError for a host that is numeric but no valid address.
    """
    host = host.strip("[]")
    if ":" in host:
        return ipaddress.ip_address(host)
    labels = host.removesuffix(".").split(".")
    if not _NUMBER.fullmatch(labels[-1]):
        return None
    if len(labels) > 4:
        raise ValueError(f"{host!r} has more than four numeric parts")
    *head, last = (_ipv4_number(label) for label in labels)  # an empty or non-numeric label: ValueError
    if any(part > 255 for part in head) or last >= 256 ** (4 - len(head)):
        raise ValueError(f"{host!r} is out of the IPv4 range")
    value = last
    for position, part in enumerate(head):
        value += part << (8 * (3 - position))
    return ipaddress.IPv4Address(value)
