"""REST plumbing shared by all routes: body parsing, auth, recording, faults, error shapes.

Responses copy what discord.py's HTTP client keys on: an exact ``application/json``
content type, X-RateLimit-* headers, and ``Via`` on 429s (without it discord.py treats a
429 as a Cloudflare ban and raises instead of retrying).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web
from aiohttp.typedefs import Middleware

from .cdn import CDN_PREFIXES
from .payloads import error_payload, rate_limit_payload

if TYPE_CHECKING:
    from .server import FakeDiscordCore

JSON = dict[str, Any]
API_PREFIX = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Interaction callbacks and interaction webhooks authenticate by their token, not the bot token.
BODY: web.RequestKey[Any] = web.RequestKey("fake_discord_body", object)
FILES: web.RequestKey[list[JSON]] = web.RequestKey("fake_discord_files", list)
TOKEN_AUTH_PATHS = re.compile(r"^/(interactions/\d+/[^/]+/callback|webhooks/\d+/[^/]+)(/|$)")


class ApiError(Exception):
    """Raised by route handlers; the middleware renders it in Discord's error shape."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        errors: JSON | None = None,
        *,
        validation: bool = False,
        interaction_id: int | None = None,
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.body = error_payload(code, message, errors)
        self.validation = validation
        self.interaction_id = interaction_id


def invalid_form(errors: JSON, *, interaction_id: int | None = None) -> ApiError:
    return ApiError(400, 50035, "Invalid Form Body", errors, validation=True, interaction_id=interaction_id)


def empty_message(*, interaction_id: int | None = None) -> ApiError:
    return ApiError(400, 50006, "Cannot send an empty message", validation=True, interaction_id=interaction_id)


def not_found(code: int, what: str) -> ApiError:
    return ApiError(404, code, f"Unknown {what}")


def json_response(data: Any, status: int = 200) -> web.Response:
    """JSON with Discord's exact content type (discord.py compares it verbatim)."""
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


def no_content() -> web.Response:
    return web.Response(status=204)


@dataclass
class Fault:
    """An armed fault: the next `count` requests whose "METHOD /path" contains `route`."""

    route: str
    count: int
    status: int
    retry_after: float = 0.0
    is_global: bool = False
    scope: str = "user"


class Faults:
    """Rate-limit and server-error injection, consumed in arming order."""

    def __init__(self) -> None:
        self.rules: list[Fault] = []
        self.fired: list[JSON] = []

    def take(self, key: str) -> Fault | None:
        for rule in self.rules:
            if rule.count > 0 and rule.route in key:
                rule.count -= 1
                self.fired.append({"route": key, "status": rule.status, "time": time.monotonic()})
                return rule
        return None


def _bucket(request: web.Request) -> str:
    resource = request.match_info.route.resource
    canonical = resource.canonical if resource is not None else request.path
    return hashlib.md5(f"{request.method} {canonical}".encode()).hexdigest()


def _ratelimit_headers(bucket: str, *, limit: int, remaining: int, reset_after: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": bucket,
        "Via": "1.1 google",
    }


def fault_response(fault: Fault, bucket: str) -> web.Response:
    """A 429 exactly like Discord's, or a bare 5xx."""
    if fault.status != 429:
        return json_response(error_payload(0, f"{fault.status}: Internal Server Error"), fault.status)
    resp = json_response(rate_limit_payload(fault.retry_after, fault.is_global), 429)
    resp.headers.update(_ratelimit_headers(bucket, limit=5, remaining=0, reset_after=fault.retry_after))
    resp.headers["Retry-After"] = str(max(1, math.ceil(fault.retry_after)))
    resp.headers["X-RateLimit-Scope"] = "global" if fault.is_global else fault.scope
    if fault.is_global:
        resp.headers["X-RateLimit-Global"] = "true"
    return resp


async def parse_body(request: web.Request) -> tuple[Any, list[JSON]]:
    """JSON body, or multipart's payload_json plus file parts (with their bytes)."""
    if request.content_type == "multipart/form-data":
        payload: Any = None
        files: list[JSON] = []
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue  # nested multipart: discord.py never sends one
            if part.name == "payload_json":
                payload = json.loads(await part.text())
            else:
                data = await part.read()
                files.append(
                    {
                        "field": part.name,
                        "filename": part.filename,
                        "content_type": part.headers.get("Content-Type"),
                        "size": len(data),
                        "data": data,
                    }
                )
        return payload, files
    text = await request.text()
    return (json.loads(text) if text else None), []


def make_middleware(fake: FakeDiscordCore) -> Middleware:
    """Record, authenticate, inject faults, then route; unknown routes become recorded 404s."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in fake.gateway_paths or request.path.startswith(CDN_PREFIXES):
            return await handler(request)  # the CDN logs its own downloads (fake.cdn.requests)
        path = request.path[len(API_PREFIX) :] if request.path.startswith(API_PREFIX + "/") else request.path
        entry: JSON = {
            "method": request.method,
            "path": path,
            "query": dict(request.query),
            "headers": {k: v for k, v in request.headers.items() if k.lower() != "authorization"},
            "json": None,
            "files": [],
            "status": None,
            "time": time.monotonic(),
        }
        fake.requests.append(entry)
        try:
            resp = await _process(fake, request, handler, entry, path)
        except ApiError as exc:
            record = {
                "method": request.method,
                "path": path,
                "status": exc.status,
                "error": exc.body,
                "payload": entry["json"],
                "interaction_id": exc.interaction_id,
            }
            fake.error_responses.append(record)
            if exc.validation:
                fake.validation_errors.append(record)
            resp = json_response(exc.body, exc.status)
        except Exception as exc:
            fake.internal_errors.append({"method": request.method, "path": path, "error": traceback.format_exc()})
            resp = json_response(error_payload(0, f"fake_discord internal error: {exc!r}"), 400)
        if "X-RateLimit-Bucket" not in resp.headers and request.path.startswith(API_PREFIX):
            resp.headers.update(_ratelimit_headers(_bucket(request), limit=50, remaining=49, reset_after=1.0))
        entry["status"] = resp.status
        fake.notifier.notify()
        return resp

    return middleware


async def _process(
    fake: FakeDiscordCore, request: web.Request, handler: Handler, entry: JSON, path: str
) -> web.StreamResponse:
    try:
        body, files = await parse_body(request)
    except ValueError as exc:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from exc
    entry["json"] = body
    entry["files"] = [{k: v for k, v in f.items() if k != "data"} for f in files]
    request[BODY] = body if body is not None else {}
    request[FILES] = files
    routed = request.match_info.http_exception is None and request.path.startswith(API_PREFIX + "/")
    if not routed:
        fake.unknown_requests.append(entry)
        raise ApiError(404, 0, "404: Not Found")
    if not TOKEN_AUTH_PATHS.match(path) and request.headers.get("Authorization") != f"Bot {fake.token}":
        raise ApiError(401, 0, "401: Unauthorized")
    fault = fake.faults.take(f"{request.method} {path}")
    if fault is not None:
        return fault_response(fault, _bucket(request))
    return await handler(request)
