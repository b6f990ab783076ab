"""Fetching a link safely: real aiohttp servers on 127.0.0.1, fake DNS answers, and the pure address checks.

Every connection a test makes is checked to go to 127.0.0.1 or ::1 (`loopback_only`), so a
check that failed to refuse an address would fail the test instead of reaching the network.
"""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import aiohappyeyeballs
import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer

from bot.fetching import ACCEPTED_TYPES, FetchedDocument, FetchPolicy, FetchRefused, fetch_document, fetch_document_sync
from bot.fetching.addresses import address_refusal, literal_address, resolved_refusal
from bot.fetching.resolver import CheckingResolver
from bot.fetching.urls import check_url, parse_url
from bot.settings import parse_settings

LIMIT = 4096
LOOPBACK = FetchPolicy(allow_loopback=True, max_bytes=LIMIT, max_redirects=3, timeout_seconds=5)
QUICK = FetchPolicy(allow_loopback=True, max_bytes=LIMIT, timeout_seconds=0.3)
PAGE = "<html><body><p>The council voted 7 to 2.</p></body></html>"


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test whose client would connect anywhere but this machine."""
    real = aiohappyeyeballs.start_connection

    async def guarded(addr_infos: Any, *args: Any, **kwargs: Any) -> socket.socket:
        for info in addr_infos:
            assert ipaddress.ip_address(info[4][0]).is_loopback, f"a connection to {info[4][0]} was attempted"
        return await real(addr_infos, *args, **kwargs)

    monkeypatch.setattr(aiohappyeyeballs, "start_connection", guarded)


class FakeDNS(AbstractResolver):
    """A name lookup answering from a table; unknown names fail like a real NXDOMAIN."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
            for address in self.table[host]
        ]

    async def close(self) -> None:
        pass


def _routes(release: asyncio.Event) -> web.Application:
    """The test site: pages of every accepted type, and each way a server can misbehave."""

    async def typed(request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        types = {"html": "text/html", "text": "text/plain", "markdown": "text/markdown", "pdf": "application/pdf"}
        body = b"%PDF-1.4\n%%EOF\n" if kind == "pdf" else PAGE.encode()
        if kind == "image":
            return web.Response(body=b"\x89PNG\r\n", content_type="image/png")
        return web.Response(body=body, content_type=types[kind], charset=None if kind == "pdf" else "utf-8")

    async def hop(request: web.Request) -> web.Response:
        left = int(request.match_info["left"])
        raise web.HTTPFound(f"/hop/{left - 1}" if left > 1 else "/page/html")

    async def redirect_to(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    async def no_location(request: web.Request) -> web.Response:
        return web.Response(status=302)

    async def missing(request: web.Request) -> web.Response:
        raise web.HTTPNotFound()

    async def stall_headers(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text=PAGE, content_type="text/html")

    async def stall_body(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        await response.write(b"<html><body>")
        await release.wait()
        return response

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"a" * (LIMIT + 1), content_type="text/plain")

    async def big_stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(8):
            await response.write(b"a" * 1024)
        return response

    async def bomb(request: web.Request) -> web.Response:
        body = gzip.compress(b"a" * (LIMIT * 64))
        return web.Response(body=body, headers={"Content-Type": "text/plain", "Content-Encoding": "gzip"})

    async def headers(request: web.Request) -> web.Response:
        return web.Response(text=json.dumps(dict(request.headers)), content_type="text/plain")

    async def set_cookie(request: web.Request) -> web.Response:
        response = web.HTTPFound("/headers")
        response.set_cookie("session", "secret")
        raise response

    app = web.Application()
    app.router.add_get("/page/{kind}", typed)
    app.router.add_get("/hop/{left}", hop)
    app.router.add_get("/redirect", redirect_to)
    app.router.add_get("/no-location", no_location)
    app.router.add_get("/missing", missing)
    app.router.add_get("/stall-headers", stall_headers)
    app.router.add_get("/stall-body", stall_body)
    app.router.add_get("/big", big)
    app.router.add_get("/big-stream", big_stream)
    app.router.add_get("/bomb", bomb)
    app.router.add_get("/headers", headers)
    app.router.add_get("/set-cookie", set_cookie)
    return app


@pytest.fixture
async def site() -> AsyncIterator[TestServer]:
    """The test site on 127.0.0.1; stalled handlers are released before it shuts down."""
    release = asyncio.Event()
    server = TestServer(_routes(release), host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        release.set()
        await server.close()


def url(site: TestServer, path: str) -> str:
    return str(site.make_url(path))


async def refusal(link: str, policy: FetchPolicy = LOOPBACK, resolver: AbstractResolver | None = None) -> str:
    """The one-line message fetching `link` is refused with."""
    with pytest.raises(FetchRefused) as caught:
        await fetch_document(link, policy, resolver=resolver)
    assert caught.value.__cause__ is None and "Traceback" not in str(caught.value)
    return str(caught.value)


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- fetching pages ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "media_type", "charset"),
    [
        ("html", "text/html", "utf-8"),
        ("text", "text/plain", "utf-8"),
        ("markdown", "text/markdown", "utf-8"),
        ("pdf", "application/pdf", None),
    ],
)
async def test_a_page_of_each_accepted_type_is_fetched_when_loopback_is_allowed(
    site: TestServer, kind: str, media_type: str, charset: str | None
) -> None:
    document = await fetch_document(url(site, f"/page/{kind}"), LOOPBACK)
    assert (document.url, document.content_type, document.charset) == (url(site, f"/page/{kind}"), media_type, charset)
    assert document.body.startswith(b"%PDF" if kind == "pdf" else b"<html>")
    assert media_type in ACCEPTED_TYPES


async def test_loopback_is_refused_by_default(site: TestServer) -> None:
    assert FetchPolicy().allow_loopback is False
    message = await refusal(url(site, "/page/html"), FetchPolicy())
    assert message == f"{url(site, '/page/html')}: 127.0.0.1 is a loopback address"


async def test_a_name_resolving_to_loopback_is_refused_by_default(site: TestServer) -> None:
    link = f"http://localhost:{site.port}/page/html"  # /etc/hosts: no DNS query leaves the machine
    assert "localhost resolves to a blocked address: " in await refusal(link, FetchPolicy())
    assert "is a loopback address" in await refusal(link, FetchPolicy())
    assert (await fetch_document(link, LOOPBACK)).body == PAGE.encode()


async def test_redirects_are_followed_up_to_the_limit_and_the_final_url_kept(site: TestServer) -> None:
    document = await fetch_document(url(site, "/hop/3"), LOOPBACK)
    assert (document.url, document.body) == (url(site, "/page/html"), PAGE.encode())


async def test_the_request_names_storybot_accepts_the_types_and_keeps_no_cookies(site: TestServer) -> None:
    sent = json.loads((await fetch_document(url(site, "/set-cookie"), LOOPBACK)).body)
    assert sent["User-Agent"].startswith("storybot/")
    assert all(media_type in sent["Accept"] for media_type in ACCEPTED_TYPES)
    assert "Cookie" not in sent  # the cookie set by the redirect was not sent back


async def test_a_name_is_fetched_through_the_checked_lookup(site: TestServer) -> None:
    dns = FakeDNS({"news.test": ["127.0.0.1"]})
    document = await fetch_document(f"http://news.test:{site.port}/page/html", LOOPBACK, resolver=dns)
    assert document.body == PAGE.encode()


# --- refusals, each with its reason -------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "reason"),
    [
        ("file:///etc/passwd", "only http and https links can be fetched, not file:"),
        ("ftp://example.com/story.txt", "not ftp:"),
        ("data:text/html,<p>hi</p>", "not data:"),
        ("javascript:alert(1)", "not javascript:"),
        ("gopher://example.com/", "not gopher:"),
        ("example.com/story", "not a full link: it must start with http:// or https://"),
        ("//example.com/story", "not a full link"),
        ("http://user:pass@example.com/", "user name or password"),
        ("https://user@example.com/", "user name or password"),
        ("http:///story", "the link has no host"),
        ("http://exa mple.com/", "'exa mple.com' is not a valid host name"),
        ("http://256.1.1.1/", "'256.1.1.1' is not a valid IP address"),
        ("http://example.com:99999/", "not a valid link"),
        ("http://example.com/" + "a" * 3000, "longer than 2,048 characters"),
    ],
)
async def test_links_that_are_not_public_http_are_refused_before_any_connection(link: str, reason: str) -> None:
    message = await refusal(link, FetchPolicy())
    assert reason in message


@pytest.mark.parametrize(
    ("link", "reason"),
    [
        ("http://2130706433/", "127.0.0.1 is a loopback address"),  # decimal
        ("http://017700000001/", "127.0.0.1 is a loopback address"),  # octal
        ("http://0x7f000001/", "127.0.0.1 is a loopback address"),  # hex
        ("http://0x7f.1/", "127.0.0.1 is a loopback address"),  # mixed, two parts
        ("http://127.1/", "127.0.0.1 is a loopback address"),
        ("http://[::1]/", "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "::ffff:7f00:1 stands for 127.0.0.1, a loopback address"),
        ("http://0.0.0.0/", "0.0.0.0 is the unspecified address"),
        ("http://0/", "0.0.0.0 is the unspecified address"),
        ("http://[::]/", ":: is the unspecified address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is the cloud metadata address"),
        ("http://[fe80::1]/", "fe80::1 is a link-local address"),
        ("http://10.0.0.1/", "10.0.0.1 is a private address"),
        ("http://0xa000001/", "10.0.0.1 is a private address"),
        ("http://172.16.5.4/", "172.16.5.4 is a private address"),
        ("http://192.168.1.1/", "192.168.1.1 is a private address"),
        ("http://[fd00::1]/", "fd00::1 is a private address"),
        ("http://[::ffff:10.0.0.1]/", "stands for 10.0.0.1, a private address"),
        ("http://[64:ff9b::a00:1]/", "stands for 10.0.0.1, a private address"),  # NAT64
        ("http://[2002:a9fe:a9fe::]/", "stands for 169.254.169.254, the cloud metadata"),  # 6to4
        ("http://100.64.0.1/", "100.64.0.1 is a carrier-grade NAT (shared) address"),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
        ("http://[ff02::1]/", "ff02::1 is a multicast address"),
        ("http://255.255.255.255/", "255.255.255.255 is the broadcast address"),
        ("http://240.0.0.1/", "240.0.0.1 is a reserved address"),
        ("http://192.0.2.1/", "192.0.2.1 is a special-purpose address, not a public one"),
    ],
)
async def test_literal_addresses_in_any_form_are_refused_without_a_connection(
    link: str, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_connection(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(aiohttp.TCPConnector, "connect", no_connection)
    message = await refusal(link, FetchPolicy())
    assert message.startswith(f"{link}: ") and reason in message


async def test_allowing_loopback_still_refuses_private_and_link_local() -> None:
    for link in ("http://10.0.0.1/", "http://192.168.0.1/", "http://169.254.169.254/", "http://[fd00::1]/"):
        assert "address" in await refusal(link, LOOPBACK)


async def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    dns = FakeDNS({"intranet.test": ["10.1.2.3"], "mixed.test": ["127.0.0.1", "192.168.0.7"]})
    message = await refusal("http://intranet.test/", FetchPolicy(), resolver=dns)
    assert (
        message == "http://intranet.test/: intranet.test resolves to a blocked address: 10.1.2.3 is a private address"
    )
    assert "192.168.0.7 is a private address" in await refusal("http://mixed.test/", LOOPBACK, resolver=dns)


async def test_a_dns_failure_is_named() -> None:
    message = await refusal("http://nowhere.test/", FetchPolicy(), resolver=FakeDNS({}))
    assert message == "http://nowhere.test/: the host nowhere.test could not be found (DNS lookup failed)"


async def test_a_refused_connection_is_named() -> None:
    port = unused_port()
    message = await refusal(f"http://127.0.0.1:{port}/", LOOPBACK)
    assert message.endswith(f"could not connect to 127.0.0.1 port {port}: connection refused")


async def test_a_chain_of_redirects_longer_than_the_limit_is_refused(site: TestServer) -> None:
    assert (await refusal(url(site, "/hop/4"))).endswith(": more than 3 redirects")
    assert (await refusal(url(site, "/hop/1"), FetchPolicy(allow_loopback=True, max_redirects=0))).endswith(
        "more than 0 redirects"
    )


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://10.0.0.1/admin", "it redirects to http://10.0.0.1/admin, and 10.0.0.1 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "and 169.254.169.254 is the cloud metadata address"),
        ("http://[::ffff:192.168.0.1]/", "stands for 192.168.0.1, a private address"),
        ("file:///etc/passwd", "it redirects to file:///etc/passwd, and only http and https links can be fetched"),
        ("http://user:pass@example.com/", "user name or password"),
    ],
)
async def test_every_redirect_is_checked_like_the_link(site: TestServer, target: str, reason: str) -> None:
    link = str(site.make_url("/redirect").with_query(to=target))
    assert reason in await refusal(link)


async def test_a_redirect_to_loopback_is_refused_when_loopback_is_not_allowed(site: TestServer) -> None:
    dns = FakeDNS({"news.test": ["127.0.0.1"]})
    link = f"http://news.test:{site.port}/redirect?to=http://127.0.0.1:{site.port}/page/html"
    policy = FetchPolicy(allow_loopback=False)
    assert "news.test resolves to a blocked address" in await refusal(link, policy, resolver=dns)
    relay = f"http://127.0.0.1:{site.port}/redirect?to=http://intranet.test/"
    dns.table["intranet.test"] = ["10.9.8.7"]
    assert "intranet.test resolves to a blocked address: 10.9.8.7" in await refusal(relay, LOOPBACK, resolver=dns)


async def test_a_redirect_without_a_location_is_refused(site: TestServer) -> None:
    assert (await refusal(url(site, "/no-location"))).endswith("answered 302 without saying where to (no Location)")


async def test_a_server_too_slow_to_answer_hits_the_time_limit(site: TestServer) -> None:
    for path in ("/stall-headers", "/stall-body"):
        started = asyncio.get_running_loop().time()
        assert (await refusal(url(site, path), QUICK)).endswith(": timed out: no complete answer within 0.3 seconds")
        assert asyncio.get_running_loop().time() - started < 2


async def test_a_body_past_the_size_limit_is_refused(site: TestServer) -> None:
    assert (await refusal(url(site, "/big"))).endswith(f"it is {LIMIT + 1:,} bytes, more than the {LIMIT:,} allowed")
    assert (await refusal(url(site, "/big-stream"))).endswith(f"it is larger than the {LIMIT:,} bytes allowed")
    assert (await refusal(url(site, "/bomb"))).endswith(f"it is larger than the {LIMIT:,} bytes allowed")


async def test_a_wrong_content_type_is_refused_by_name(site: TestServer) -> None:
    message = await refusal(url(site, "/page/image"))
    assert message.endswith("it is image/png, and storybot reads only HTML, plain text, Markdown and PDF")


async def test_an_error_status_is_refused_with_its_code(site: TestServer) -> None:
    assert (await refusal(url(site, "/missing"))).endswith(": the server answered 404 Not Found")


# --- the blocking wrapper -----------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        if self.path != "/untyped":
            self.send_header("Content-Type", "text/markdown; charset=utf-8")
        self.send_header("Content-Length", "7")
        self.end_headers()
        self.wfile.write(b"# Story")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def plain_server() -> Iterator[str]:
    """A standard-library server in a thread: no event loop anywhere near the test."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_sync_wrapper_works_from_plain_code(plain_server: str) -> None:
    document = fetch_document_sync(f"{plain_server}/story.md", LOOPBACK)
    assert document == FetchedDocument(f"{plain_server}/story.md", "text/markdown", "utf-8", b"# Story")
    with pytest.raises(FetchRefused, match=r"127\.0\.0\.1 is a loopback address$"):
        fetch_document_sync(f"{plain_server}/story.md")
    with pytest.raises(FetchRefused, match="did not say what type of document it is"):
        fetch_document_sync(f"{plain_server}/untyped", LOOPBACK)


# --- the pure checks --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0x7F000001", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("10.0.0.1.", "10.0.0.1"),
        ("0", "0.0.0.0"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("[::1]", "::1"),
        ("example.com", None),
        ("1example.com", None),
        ("news.test", None),
    ],
)
def test_literal_address_reads_a_host_as_a_resolver_would(host: str, address: str | None) -> None:
    found = literal_address(host)
    assert (None if found is None else str(found)) == address


@pytest.mark.parametrize("host", ["256.0.0.1", "1.2.3.4.5", "08.1", "1..2", "4294967296", "::zz"])
def test_literal_address_rejects_malformed_numbers(host: str) -> None:
    with pytest.raises(ValueError):
        literal_address(host)


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "8.8.8.8", "2606:4700::6810:84e5", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


def test_loopback_is_allowed_only_when_asked_and_nothing_else_is() -> None:
    assert address_refusal(ipaddress.ip_address("127.0.0.1")) == "127.0.0.1 is a loopback address"
    for allowed in ("127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"):
        assert address_refusal(ipaddress.ip_address(allowed), allow_loopback=True) is None
    for blocked in ("10.0.0.1", "169.254.169.254", "0.0.0.0", "fc00::1", "100.100.100.100"):
        assert address_refusal(ipaddress.ip_address(blocked), allow_loopback=True) is not None


def test_a_lookup_is_refused_when_any_address_is_blocked() -> None:
    assert resolved_refusal("news.test", ["93.184.215.14", "2606:4700::6810:84e5"]) is None
    assert resolved_refusal("news.test", ["93.184.215.14", "10.0.0.8"]) == (
        "news.test resolves to a blocked address: 10.0.0.8 is a private address"
    )
    assert resolved_refusal("news.test", []) == "news.test has no addresses"
    assert resolved_refusal("news.test", ["fe80::1%eth0"]) == (
        "news.test resolves to a blocked address: fe80::1%eth0 is a link-local address"
    )


async def test_the_resolver_returns_exactly_the_addresses_it_checked() -> None:
    dns = FakeDNS(
        {"news.test": ["93.184.215.14", "2606:4700::6810:84e5"], "rebind.test": ["93.184.215.14", "127.0.0.1"]}
    )
    resolver = CheckingResolver(inner=dns)
    assert await resolver.resolve("news.test", 443) == await dns.resolve("news.test", 443)
    with pytest.raises(FetchRefused, match=r"^rebind\.test resolves to a blocked address: 127\.0\.0\.1 is a loopback"):
        await resolver.resolve("rebind.test", 443)


def test_check_url_rewrites_a_literal_address_to_its_usual_form() -> None:
    checked = check_url(parse_url("http://2130706433:8080/story?id=1#top"), allow_loopback=True)
    assert str(checked) == "http://127.0.0.1:8080/story?id=1"
    assert str(check_url(parse_url("https://exämple.com/a"))) == "https://xn--exmple-cua.com/a"


def test_the_default_policy_matches_the_default_settings() -> None:
    assert FetchPolicy.from_settings(parse_settings({})) == FetchPolicy()
    policy = FetchPolicy.from_settings(
        parse_settings(
            {
                "STORYBOT_FETCH_TIMEOUT_SECONDS": "3",
                "STORYBOT_MAX_STORY_BYTES": "2048",
                "STORYBOT_FETCH_MAX_REDIRECTS": "0",
                "STORYBOT_FETCH_ALLOW_LOOPBACK": "true",
            }
        )
    )
    assert policy == FetchPolicy(timeout_seconds=3, max_bytes=2048, max_redirects=0, allow_loopback=True)
