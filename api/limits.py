"""Limits on what one request and one client may ask: body size, nesting, and request rates."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from threading import Lock

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.documents.jsonsafe import MAX_NESTING, MalformedJsonError, TooDeeplyNestedError, loads
from ledger.errors import InvalidDocumentError, RateLimitedError

MAX_BODY_BYTES = 6 * 1024 * 1024


class JsonGuard:
    """Every request body: refused past `MAX_BODY_BYTES` (413). JSON bodies (by the first
    Content-Type, as FastAPI decides) are read strictly before anything parses them: not
    UTF-8 JSON (400), nested too deeply or holding what parsers disagree on (422: a key
    twice, NaN, an unpaired surrogate). A request with two Content-Type headers is refused
    (400), so that this guard and the route cannot read different ones."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers") or []
        types = [value for name, value in headers if name == b"content-type"]
        if len(types) > 1:
            await _refuse(send, 400, "ambiguous_content_type", "send one Content-Type header, not several")
            return
        declared = next((value for name, value in headers if name == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            await _too_large(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                await _too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and types and is_json(types[0]):
            try:
                await run_in_threadpool(loads, body, what="the JSON body")
            except MalformedJsonError:
                await _refuse(send, 400, "malformed_json", "the request body is not valid JSON (UTF-8)")
                return
            except TooDeeplyNestedError:
                await _refuse(send, 422, "too_deeply_nested", f"the JSON body nests deeper than {MAX_NESTING} levels")
                return
            except InvalidDocumentError as error:
                await _refuse(send, 422, "invalid_json", error.message)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def is_json(content_type: bytes) -> bool:
    """Whether FastAPI reads a body of this media type as JSON (``json`` or ``+json``, any case)."""
    media = content_type.split(b";", 1)[0].strip().lower()
    return media.endswith((b"/json", b"+json"))


async def _too_large(send: Send) -> None:
    await _refuse(send, 413, "payload_too_large", f"the body is larger than {MAX_BODY_BYTES // 2**20} MB")


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    payload = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class RateLimiter:
    """A token bucket per client (an API key, an address): `per_minute` requests, in bursts of as many.

    State lives in this process only; with several service processes each allows its
    share again, so set the limit per process. `per_minute` 0 turns the limit off. At
    most `max_clients` buckets are kept: full ones (idle clients) are dropped first.
    """

    def __init__(
        self, per_minute: int, *, max_clients: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._max_clients = max_clients
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)
        self._lock = Lock()

    def take(self, client: str, who: str) -> None:
        """Spend one request of `client`'s allowance. Raises `RateLimitedError` when none is left."""
        if self.per_minute <= 0:
            return
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(client, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - at) * self._rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                wait = math.ceil((1.0 - tokens) / self._rate)
                raise RateLimitedError(
                    f"too many requests from {who}: {self.per_minute} a minute are allowed; retry in {wait} s",
                    retry_after=wait,
                )
            self._buckets[client] = (tokens - 1.0, now)
            if len(self._buckets) > self._max_clients:
                self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        # A bucket untouched for a minute is full again: forgetting it changes nothing.
        idle = [client for client, (_tokens, at) in self._buckets.items() if now - at >= 60.0]
        for client in idle or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[client]
