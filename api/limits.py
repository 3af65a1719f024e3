"""Limits on what one request may carry: body size, nesting, and JSON that parsers read alike
(request rates per client are in `api.rate_limits`)."""

from __future__ import annotations

import json

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.documents.jsonsafe import MAX_NESTING, MalformedJsonError, TooDeeplyNestedError, loads
from ledger.errors import InvalidDocumentError, PayloadTooLargeError

MAX_BODY_BYTES = 6 * 1024 * 1024
MAX_SHEET_BYTES = 64 * 1024 * 1024
"""The largest spreadsheet `POST /v1/issuance-jobs` takes: streamed to disk by the form parser, never held."""
STREAMED_UPLOADS = {"/v1/issuance-jobs": MAX_SHEET_BYTES}


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
        streamed = STREAMED_UPLOADS.get(scope["path"]) if scope.get("method") == "POST" else None
        limit = streamed or MAX_BODY_BYTES
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        if streamed is not None and not (types and is_json(types[0])):
            await self.app(scope, _counted(receive, streamed), send)  # a file upload: streamed, counted
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
                await _too_large(send, MAX_BODY_BYTES)
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


def _counted(receive: Receive, limit: int) -> Receive:
    """`receive`, raising `PayloadTooLargeError` (413) once the body passes `limit` bytes."""
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        size += len(message.get("body", b""))
        if size > limit:
            raise PayloadTooLargeError(f"the file is larger than {limit // (1024 * 1024)} MB; split the sheet")
        return message

    return counted


def is_json(content_type: bytes) -> bool:
    """Whether FastAPI reads a body of this media type as JSON (``json`` or ``+json``, any case)."""
    media = content_type.split(b";", 1)[0].strip().lower()
    return media.endswith((b"/json", b"+json"))


async def _too_large(send: Send, limit: int) -> None:
    await _refuse(send, 413, "payload_too_large", f"the body is larger than {limit // 2**20} MB")


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
